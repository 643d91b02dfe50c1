include!("lib.rs");

#[test]
fn no_debug_output_left() {
    assert!(!include_str!("lib.rs").contains("println!"));
}

#[test]
fn tokenizes() {
    assert_eq!(tokenize("12+3*(4-1)"), vec!["12", "+", "3", "*", "(", "4", "-", "1", ")"]);
    assert_eq!(tokenize(" 7 "), vec!["7"]);
}
