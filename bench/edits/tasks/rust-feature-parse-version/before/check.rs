include!("lib.rs");

#[test]
fn no_dot_is_none() {
    assert_eq!(parse_version("3"), None);
    assert_eq!(parse_version(""), None);
}

#[test]
fn parses_versions() {
    assert_eq!(parse_version(" 1.4 "), Some(Version { major: 1, minor: 4 }));
    assert_eq!(parse_version("x.1"), None);
    assert!(at_least(&Version { major: 2, minor: 0 }, &Version { major: 1, minor: 9 }));
}
