//! A person-readable name for a browser or app from its `User-Agent`, for the sessions list.

/// "Firefox on Linux", "Safari on iOS", or the agent's first word when it is no known browser.
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else { return "Unknown device".to_owned() };
    // Order matters: Edge and Opera say Chrome, Chrome says Safari.
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => ua.split([' ', '/']).next().unwrap_or(ua).chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn common_agents_read_naturally() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe(Some(firefox)), "Firefox on Linux");
        assert_eq!(describe(Some(chrome)), "Chrome on Windows");
        assert_eq!(describe(Some(safari)), "Safari on iOS");
        assert_eq!(describe(Some("curl/8.5.0")), "curl");
        assert_eq!(describe(None), "Unknown device");
    }
}
