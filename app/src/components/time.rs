//! Relative timestamps ("3 minutes ago") that stay correct after hydration.

use leptos::prelude::*;

/// "just now", "5 minutes ago", "yesterday"… between an RFC 3339 time and `now` (seconds since the epoch).
pub fn relative(rfc3339: &str, now: i64) -> String {
    let Some(then) = parse_unix(rfc3339) else { return rfc3339.to_owned() };
    let seconds = (now - then).max(0);
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => plural(seconds / 60, "minute"),
        3600..86_400 => plural(seconds / 3600, "hour"),
        86_400..172_800 => "yesterday".to_owned(),
        _ if seconds < 30 * 86_400 => plural(seconds / 86_400, "day"),
        _ => rfc3339.get(..10).unwrap_or(rfc3339).to_owned(),
    }
}

/// Seconds since the epoch of a UTC RFC 3339 time like `2026-11-23T10:00:00Z`.
fn parse_unix(value: &str) -> Option<i64> {
    let (date, time) = value.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '.']).next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s)
}

/// The current time in seconds, ticking every 30 s in the browser. The server renders with its clock; the
/// browser takes over after hydration, so labels never go stale.
pub fn use_now() -> Signal<i64> {
    let now = RwSignal::new(current_unix());
    Effect::new(move |_| {
        now.set(current_unix());
        #[cfg(feature = "hydrate")]
        {
            let _ = set_interval_with_handle(move || now.set(current_unix()), std::time::Duration::from_secs(30));
        }
    });
    now.into()
}

fn current_unix() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    }
}

/// A `<time>` element with the exact time as its title and a relative label.
#[component]
pub fn RelativeTime(#[prop(into)] at: String, now: Signal<i64>) -> impl IntoView {
    let label = {
        let at = at.clone();
        move || relative(&at, now.get())
    };
    view! { <time datetime=at.clone() title=at>{label}</time> }
}

/// Brings every `<time datetime>` under `root` to `now`: the labels of views written as markup, which
/// have no reactive label of their own.
#[cfg(feature = "hydrate")]
pub fn refresh_relative_times(root: &web_sys::Element, now: i64) {
    use wasm_bindgen::JsCast;
    let Ok(times) = root.query_selector_all("time[datetime]") else { return };
    for i in 0..times.length() {
        if let Some(time) = times.item(i).and_then(|node| node.dyn_into::<web_sys::Element>().ok())
            && let Some(at) = time.get_attribute("datetime")
        {
            time.set_text_content(Some(&relative(&at, now)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_naturally() {
        let now = parse_unix("2026-11-23T12:00:00Z").unwrap();
        assert_eq!(relative("2026-11-23T11:59:30Z", now), "just now");
        assert_eq!(relative("2026-11-23T11:59:00Z", now), "1 minute ago");
        assert_eq!(relative("2026-11-23T09:00:00Z", now), "3 hours ago");
        assert_eq!(relative("2026-11-22T11:00:00Z", now), "yesterday");
        assert_eq!(relative("2026-11-18T12:00:00Z", now), "5 days ago");
        assert_eq!(relative("2026-01-01T00:00:00Z", now), "2026-01-01");
        assert_eq!(parse_unix("1970-01-02T00:00:00Z"), Some(86_400));
    }
}
