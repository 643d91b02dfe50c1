use std::collections::HashMap;

/// How often each word occurs, lower-cased.
pub fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// The most frequent word (ties: alphabetically first).
pub fn most_common(text: &str) -> Option<String> {
    let counts = word_counts(text);
    let mut pairs: Vec<_> = counts.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    pairs.into_iter().next().map(|(w, _)| w)
}
