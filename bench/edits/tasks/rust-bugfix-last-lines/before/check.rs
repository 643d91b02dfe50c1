include!("lib.rs");

#[test]
fn exactly_n_lines() {
    assert_eq!(last_lines("a\nb\nc\nd", 2), vec!["c", "d"]);
    assert_eq!(last_lines("a\nb", 0), Vec::<&str>::new());
}

#[test]
fn fewer_lines_than_n() {
    assert_eq!(last_lines("a\nb", 10), vec!["a", "b"]);
    assert_eq!(line_count("a\nb\n"), 2);
}
