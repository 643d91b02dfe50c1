include!("lib.rs");

#[test]
fn buffer_is_4096() {
    assert_eq!(BUFFER_SIZE, 4096);
    assert_eq!(new_buffer().len(), 4096);
}

#[test]
fn reads() {
    assert_eq!(reads_needed(5000), 2);
    assert_eq!(reads_needed(0), 0);
}
