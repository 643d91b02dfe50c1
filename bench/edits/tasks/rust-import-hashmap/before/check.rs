include!("lib.rs");

#[test]
fn counts_words() {
    let c = word_counts("a B b");
    assert_eq!(c.get("b"), Some(&2));
    assert_eq!(c.get("a"), Some(&1));
}

#[test]
fn most_common_word() {
    assert_eq!(most_common("x y y x z y"), Some("y".to_string()));
    assert_eq!(most_common(""), None);
}
