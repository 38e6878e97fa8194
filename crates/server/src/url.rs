//! URLs inside bulk bodies: absolute or relative; scheme and host are ignored, the path decides.

/// Splits `https://host/path?query` (or `/path?query`) into path and query.
pub fn split(url: &str) -> (&str, Option<&str>) {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => url,
    };
    match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_absolute_and_relative() {
        assert_eq!(
            split("https://api.backand.com/1/objects/x?a=1"),
            ("/1/objects/x", Some("a=1"))
        );
        assert_eq!(split("/v1/apps"), ("/v1/apps", None));
        assert_eq!(split("http://host"), ("/", None));
    }
}
