//! Numbers as people read them: percentages with sensible precision, signed effects with a real
//! minus sign, counts with thousands separators, p-values that never print `0.000`.

/// The minus sign (U+2212): a hyphen reads as a dash next to numbers.
const MINUS: &str = "\u{2212}";
/// A thin no-break space between a number and its unit (`12.3 %`), as style guides ask.
const THIN: &str = "\u{202f}";

/// Decimals that show three significant digits of a percentage, from none to two:
/// 45.6 %, 3.45 %, 0.42 %, 100 %.
fn decimals_for(percent: f64) -> usize {
    let magnitude = percent.abs();
    if magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else {
        2
    }
}

/// A share in [0, 1] as a percentage: `0.1234` → `12.3 %`; `None` → `–`.
pub fn percent(share: Option<f64>) -> String {
    match share.filter(|value| value.is_finite()) {
        None => "–".into(),
        Some(share) => {
            let value = share * 100.0;
            if value != 0.0 && value.abs() < 0.01 {
                return format!("<0.01{THIN}%");
            }
            format!("{}{THIN}%", plain(value, decimals_for(value)))
        }
    }
}

/// A relative change with its sign: `0.052` → `+5.20 %`, `-0.1` → `−10.0 %`.
pub fn signed_percent(change: Option<f64>) -> String {
    match change.filter(|value| value.is_finite()) {
        None => "–".into(),
        Some(change) => {
            let value = change * 100.0;
            let decimals = decimals_for(value);
            with_sign(value, decimals, "%")
        }
    }
}

/// An axis tick: as few decimals as the value needs, signed: `0.5` → `+50 %`, `0` → `0 %`,
/// `-0.025` → `−2.5 %`.
pub fn tick_percent(share: f64) -> String {
    let value = (share * 100.0 * 1e6).round() / 1e6;
    let sign = if value > 0.0 {
        "+"
    } else if value < 0.0 {
        MINUS
    } else {
        ""
    };
    format!("{sign}{}{THIN}%", value.abs())
}

/// A difference of two rates in percentage points: `0.012` → `+1.20 pp`.
pub fn points(difference: Option<f64>) -> String {
    match difference.filter(|value| value.is_finite()) {
        None => "–".into(),
        Some(difference) => {
            let value = difference * 100.0;
            with_sign(value, decimals_for(value), "pp")
        }
    }
}

/// An interval `[a, b]` in a formatter of its own: `[−1.20 %, +5.00 %]`.
pub fn interval(bounds: Option<[f64; 2]>, format: fn(Option<f64>) -> String) -> String {
    match bounds {
        None => "–".into(),
        Some([low, high]) => format!("[{}, {}]", format(Some(low)), format(Some(high))),
    }
}

/// A whole count with thousands separators: `1234567` → `1,234,567`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A p-value: two significant digits, `< 0.001` below that (more digits mean nothing there).
pub fn p_value(p: Option<f64>) -> String {
    match p.filter(|value| value.is_finite()) {
        None => "–".into(),
        Some(p) if p < 0.001 => "<\u{2009}0.001".into(),
        Some(p) if p >= 0.1 => plain(p, 2),
        Some(p) if p >= 0.01 => plain(p, 3),
        Some(p) => plain(p, 4),
    }
}

/// A metric's value in its own units, three significant digits: `12.3456` → `12.3`,
/// `1234.5` → `1,235`.
pub fn number(value: Option<f64>) -> String {
    match value.filter(|value| value.is_finite()) {
        None => "–".into(),
        Some(value) if value.abs() >= 1000.0 => {
            let rounded = value.abs().round() as u64;
            let sign = if value < 0.0 { MINUS } else { "" };
            format!("{sign}{}", count(rounded))
        }
        Some(value) => plain(value, decimals_for(value)),
    }
}

/// A probability such as the chance to beat control: like [`percent`], but never `100 %` or
/// `0 %`, which would claim certainty: `> 99.9 %`, `< 0.1 %`.
pub fn chance(share: Option<f64>) -> String {
    match share.filter(|value| value.is_finite()) {
        Some(share) if share > 0.999 => format!(">{THIN}99.9{THIN}%"),
        Some(share) if share < 0.001 => format!("<{THIN}0.1{THIN}%"),
        Some(share) => format!("{}{THIN}%", plain(share * 100.0, 1)),
        None => "–".into(),
    }
}

/// A duration in seconds as people say it: `45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds.filter(|value| value.is_finite()) else {
        return "–".into();
    };
    let sign = if seconds < 0.0 { MINUS } else { "" };
    let total = seconds.abs().round() as u64;
    let (days, hours, minutes, secs) = (
        total / 86_400,
        total % 86_400 / 3_600,
        total % 3_600 / 60,
        total % 60,
    );
    let text = if days > 0 {
        format!("{days}{THIN}d {hours}{THIN}h")
    } else if hours > 0 {
        format!("{hours}{THIN}h {minutes}{THIN}min")
    } else if minutes > 0 {
        format!("{minutes}{THIN}min {secs}{THIN}s")
    } else {
        format!("{secs}{THIN}s")
    };
    format!("{sign}{text}")
}

/// An amount of money with its currency code: `12.3456`, `EUR` → `12.35 EUR`; without a
/// currency, the number alone.
pub fn money(value: Option<f64>, currency: Option<&str>) -> String {
    match (value.filter(|value| value.is_finite()), currency) {
        (None, _) => "–".into(),
        (Some(value), Some(code)) => format!("{}{THIN}{code}", plain(value, 2)),
        (Some(value), None) => number(Some(value)),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2026-12-14` → `14 Dec 2026` (a day with its year); anything else as it came.
pub fn long_date(day: &str) -> String {
    let mut parts = day.splitn(3, '-');
    let (Some(year), Some(month), Some(date)) = (parts.next(), parts.next(), parts.next()) else {
        return day.to_owned();
    };
    let month = month
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match (month, date.get(..2).and_then(|d| d.parse::<u32>().ok())) {
        (Some(month), Some(date)) => format!("{date} {month} {year}"),
        _ => day.to_owned(),
    }
}

/// A moment as `1 Dec 2026, 10:00 UTC`.
pub fn long_timestamp(at: touchstone_model::Timestamp) -> String {
    let text = at.to_rfc3339();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{}, {time} UTC", long_date(day)),
        _ => text,
    }
}

fn with_sign(value: f64, decimals: usize, unit: &str) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    // A value that rounds to zero gets no sign: "+0.00 %" would claim a direction.
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    let sign = if is_zero {
        ""
    } else if value < 0.0 {
        MINUS
    } else {
        "+"
    };
    format!("{sign}{text}{THIN}{unit}")
}

fn plain(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    if value < 0.0 && !is_zero {
        format!("{MINUS}{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spaced(text: &str) -> String {
        text.replace(THIN, " ")
            .replace(MINUS, "-")
            .replace('\u{2009}', " ")
    }

    #[test]
    fn percentages_keep_three_significant_digits() {
        let cases = [
            (0.1234, "12.3 %"),
            (0.0345, "3.45 %"),
            (0.004_2, "0.42 %"),
            (1.0, "100 %"),
            (0.0, "0.00 %"),
            (0.000_01, "<0.01 %"),
        ];
        for (share, expected) in cases {
            assert_eq!(spaced(&percent(Some(share))), expected, "{share}");
        }
        assert_eq!(percent(None), "–");
        assert_eq!(percent(Some(f64::NAN)), "–");
    }

    #[test]
    fn effects_carry_a_sign_except_when_they_round_to_zero() {
        assert_eq!(spaced(&signed_percent(Some(0.052))), "+5.20 %");
        assert_eq!(spaced(&signed_percent(Some(-0.1))), "-10.0 %");
        assert_eq!(spaced(&signed_percent(Some(-0.000_01))), "0.00 %");
        assert_eq!(spaced(&points(Some(0.012))), "+1.20 pp");
        assert_eq!(spaced(&tick_percent(0.5)), "+50 %");
        assert_eq!(spaced(&tick_percent(0.0)), "0 %");
        assert_eq!(spaced(&tick_percent(-0.025)), "-2.5 %");
        assert_eq!(spaced(&tick_percent(0.3 * 0.1 * 10.0)), "+30 %");
        assert_eq!(
            spaced(&interval(Some([-0.012, 0.05]), signed_percent)),
            "[-1.20 %, +5.00 %]"
        );
    }

    #[test]
    fn chances_durations_money_and_dates_read_as_words() {
        assert_eq!(spaced(&chance(Some(1.0))), "> 99.9 %");
        assert_eq!(spaced(&chance(Some(0.9995))), "> 99.9 %");
        assert_eq!(spaced(&chance(Some(0.0))), "< 0.1 %");
        assert_eq!(spaced(&chance(Some(0.5))), "50.0 %");
        assert_eq!(spaced(&duration(Some(45.0))), "45 s");
        assert_eq!(spaced(&duration(Some(725.0))), "12 min 5 s");
        assert_eq!(spaced(&duration(Some(12_000.0))), "3 h 20 min");
        assert_eq!(spaced(&duration(Some(187_200.0))), "2 d 4 h");
        assert_eq!(spaced(&money(Some(12.3456), Some("EUR"))), "12.35 EUR");
        assert_eq!(money(Some(12.3456), None), "12.3");
        assert_eq!(long_date("2026-12-14"), "14 Dec 2026");
        assert_eq!(long_date("2026-01-05"), "5 Jan 2026");
        assert_eq!(long_date("soon"), "soon");
        let at = touchstone_model::Timestamp::parse_rfc3339("2026-12-01T10:00:00Z").expect("time");
        assert_eq!(long_timestamp(at), "1 Dec 2026, 10:00 UTC");
    }

    #[test]
    fn counts_and_p_values_read_naturally() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(spaced(&p_value(Some(0.000_2))), "< 0.001");
        assert_eq!(p_value(Some(0.0123)), "0.012");
        assert_eq!(p_value(Some(0.004_56)), "0.0046");
        assert_eq!(p_value(Some(0.5)), "0.50");
        assert_eq!(spaced(&number(Some(-1234.5))), "-1,235");
        assert_eq!(number(Some(12.3456)), "12.3");
    }
}
