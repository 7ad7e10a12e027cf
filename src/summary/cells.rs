//! Writing one value as a CSV field or a JSON string: the escaping shared by
//! every file the offline twin and `callscreen report` write (`--out`,
//! `diff --out`, `report --format csv`).
//!
//! CSV files are opened in spreadsheets, and caller names and numbers come
//! from robocallers: a field that starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return would be read as a formula (`=HYPERLINK(…)`,
//! `+cmd|' /C calc'!A0`). Such a field gets a leading single quote (OWASP's
//! advice for CSV injection), so the spreadsheet shows it as text. A field
//! that is only a number (`+8613800138000`, `-5`) is left as it is: a
//! spreadsheet reads it as a number, never as a formula, and E.164 numbers
//! stay clean for the programs that read the file.

use std::fmt::Write as _;

/// Whether a spreadsheet could take `v` for a formula: it starts with one
/// of `= + - @`, a tab or a carriage return, and is not a plain number.
pub fn starts_a_formula(v: &str) -> bool {
    let Some(&first) = v.as_bytes().first() else {
        return false;
    };
    matches!(first, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') && !is_plain_number(v)
}

/// `+123`, `-4.5`: a sign, digits, at most one decimal point among them.
fn is_plain_number(v: &str) -> bool {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Appends `v` as one CSV field: guarded against formulas (see the module
/// doc), and quoted when it holds a comma, a quote or a line break (RFC 4180).
pub fn csv_field(out: &mut String, v: &str) {
    let guard = starts_a_formula(v);
    if !v.contains([',', '"', '\n', '\r']) {
        if guard {
            out.push('\'');
        }
        out.push_str(v);
        return;
    }
    out.push('"');
    if guard {
        out.push('\'');
    }
    for c in v.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends `v` as a JSON string literal.
pub fn json_string(out: &mut String, v: &str) {
    out.push('"');
    if !v.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(v);
        out.push('"');
        return;
    }
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(v: &str) -> String {
        let mut s = String::new();
        csv_field(&mut s, v);
        s
    }

    #[test]
    fn fields_are_quoted_and_escaped() {
        assert_eq!(csv("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv("plain"), "plain");
        let mut s = String::new();
        json_string(&mut s, "a\"\\\n\u{1}é");
        assert_eq!(s, "\"a\\\"\\\\\\n\\u0001é\"");
    }

    #[test]
    fn a_field_a_spreadsheet_would_run_as_a_formula_is_shown_as_text() {
        assert_eq!(
            csv("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(csv("-2+3"), "'-2+3");
        assert_eq!(csv("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv("\t=1+1"), "'\t=1+1");
        assert_eq!(csv("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(csv("-"), "'-");
        assert_eq!(csv("+"), "'+");
        assert_eq!(csv("+1."), "'+1.");
        // Inside a field they start nothing.
        assert_eq!(csv("Shop = cheap"), "Shop = cheap");
    }

    #[test]
    fn plain_numbers_stay_numbers() {
        assert_eq!(csv("+8613800138000"), "+8613800138000");
        assert_eq!(csv("-5"), "-5");
        assert_eq!(csv("-4.5"), "-4.5");
        assert_eq!(csv("017012345678"), "017012345678");
    }
}
