/// The largest value, or None for an empty slice.
pub fn max_of(values: &[i64]) -> Option<i64> {
    let mut best = *values.first()?;
    for &v in &values[1..] {
        if v > best {
            best = v;
        }
    }
    Some(best)
}

/// The highest temperature of the week, as text.
pub fn hottest(temps: &[i64]) -> String {
    match max_of(temps) {
        Some(t) => format!("{t}°C"),
        None => "no data".to_string(),
    }
}
