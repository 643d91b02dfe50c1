/// Split an arithmetic expression into numbers and operators.
pub fn tokenize(expr: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut number = String::new();
    for ch in expr.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        if !number.is_empty() {
            tokens.push(std::mem::take(&mut number));
        }
        if "+-*/()".contains(ch) {
            tokens.push(ch.to_string());
        }
    }
    if !number.is_empty() {
        tokens.push(number);
    }
    tokens
}
