/// The last `n` lines of `text`, oldest first (like `tail -n`).
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n + 1);
    lines[start..].to_vec()
}

/// How many lines `text` has.
pub fn line_count(text: &str) -> usize {
    text.lines().count()
}
