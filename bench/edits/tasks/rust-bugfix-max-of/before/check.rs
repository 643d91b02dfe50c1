include!("lib.rs");

#[test]
fn finds_the_largest() {
    assert_eq!(max_of(&[3, 9, 2]), Some(9));
    assert_eq!(max_of(&[-4, -1, -8]), Some(-1));
    assert_eq!(max_of(&[]), None);
}

#[test]
fn hottest_day() {
    assert_eq!(hottest(&[12, 18, 15]), "18°C");
    assert_eq!(hottest(&[]), "no data");
}
