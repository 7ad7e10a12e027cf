//! How many digits of an E.164 number are its country calling code.
//!
//! ITU-T E.164 country codes are prefix-free: one digit (`1` North America,
//! `7` Russia/Kazakhstan), two digits for the blocks listed below, three for
//! every other. The table follows the ITU assignment list; spare codes are
//! treated like their neighbours, which only matters for numbers no network
//! delivers.

/// Two-digit country codes, by their first digit.
const TWO_DIGIT: [&[u8]; 10] = [
    &[],                          // 0: no country code starts with 0
    &[],                          // 1: NANP, one digit
    &[0, 7],                      // 20 Egypt, 27 South Africa
    &[0, 1, 2, 3, 4, 6, 9],       // 30–34 36 39: Europe
    &[0, 1, 3, 4, 5, 6, 7, 8, 9], // 40 41 43–49: Europe
    &[1, 2, 3, 4, 5, 6, 7, 8],    // 51–58: Latin America
    &[0, 1, 2, 3, 4, 5, 6],       // 60–66: South-East Asia, Oceania
    &[],                          // 7: one digit
    &[1, 2, 4, 6],                // 81 82 84 86: East Asia
    &[0, 1, 2, 3, 4, 5, 8],       // 90–95 98
];

/// Digits of the country code that starts these E.164 digits (1, 2 or 3);
/// `digits` must hold at least one digit.
pub fn country_code_len(digits: &[u8]) -> usize {
    let first = digits.first().map(|d| d.wrapping_sub(b'0')).unwrap_or(0);
    if first == 1 || first == 7 {
        return 1;
    }
    let second = digits.get(1).map(|d| d.wrapping_sub(b'0')).unwrap_or(255);
    if TWO_DIGIT
        .get(usize::from(first))
        .is_some_and(|list| list.contains(&second))
    {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::country_code_len;

    #[test]
    fn known_country_codes_have_their_length() {
        for (number, cc) in [
            ("12025550123", 1),
            ("74951234567", 1),
            ("8613800138000", 2),
            ("442071234567", 2),
            ("4930123456", 2),
            ("33123456789", 2),
            ("819012345678", 2),
            ("85212345678", 3),  // Hong Kong
            ("886912345678", 3), // Taiwan
            ("35312345678", 3),  // Ireland
            ("971501234567", 3),
            ("2348012345678", 3), // Nigeria
        ] {
            assert_eq!(country_code_len(number.as_bytes()), cc, "{number}");
        }
    }
}
