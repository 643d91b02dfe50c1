/// A version like "1.4".
#[derive(Debug, PartialEq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

/// Parse "MAJOR.MINOR".
pub fn parse_version(s: &str) -> Option<Version> {
    let (major, minor) = s.trim().split_once('.').unwrap();
    Some(Version {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

/// Whether `have` is at least `want`.
pub fn at_least(have: &Version, want: &Version) -> bool {
    (have.major, have.minor) >= (want.major, want.minor)
}
