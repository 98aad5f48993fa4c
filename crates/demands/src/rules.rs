//! Checks on what residents and staff send: photo URLs, locations, free text.

use platform::ValidationErrors;

pub const MAX_PHOTOS: usize = 9;
pub const MAX_PHOTO_URL_CHARS: usize = 512;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_TEXT_CHARS: usize = 2000;

/// A place on the map, as the mini-program's location picker gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    pub address: String,
}

/// Photo URLs point at the mini-program's own storage: https only, bounded, no spaces.
pub fn photos(errors: &mut ValidationErrors, field: &str, urls: &[String]) -> Vec<String> {
    if urls.len() > MAX_PHOTOS {
        errors.add(field, format!("at most {MAX_PHOTOS} photos"));
        return Vec::new();
    }
    for (i, url) in urls.iter().enumerate() {
        if let Err(why) = check_photo_url(url) {
            errors.add(&format!("{field}[{i}]"), why);
        }
    }
    urls.to_vec()
}

fn check_photo_url(url: &str) -> Result<(), &'static str> {
    if url.chars().count() > MAX_PHOTO_URL_CHARS {
        return Err("must be at most 512 characters");
    }
    let rest = url
        .strip_prefix("https://")
        .ok_or("must be an https:// URL")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let host_ok = !host_name.is_empty()
        && host_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !host_name.starts_with(['.', '-']);
    if !host_ok {
        return Err("must name a host");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    Ok(())
}

pub fn location(errors: &mut ValidationErrors, location: Option<Location>) -> Option<Location> {
    let location = location?;
    if !(location.lat.is_finite() && (-90.0..=90.0).contains(&location.lat)) {
        errors.add("location.lat", "must be between -90 and 90");
    }
    if !(location.lng.is_finite() && (-180.0..=180.0).contains(&location.lng)) {
        errors.add("location.lng", "must be between -180 and 180");
    }
    let address =
        platform::validation::text_field(errors, "location.address", &location.address, 0, 200);
    Some(Location {
        address,
        ..location
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_urls_must_be_https_with_a_host() {
        for good in [
            "https://cdn.example.cn/a/b.jpg",
            "https://img-1.example.com:8443/x.png?size=large",
        ] {
            assert_eq!(check_photo_url(good), Ok(()), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(600));
        for bad in [
            "http://example.com/a.jpg",
            "https:///a.jpg",
            "https://exa mple.com/a.jpg",
            "https://example.com/a b.jpg",
            "javascript:alert(1)",
            "https://-bad.com/x",
            long.as_str(),
        ] {
            assert!(check_photo_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn too_many_photos_is_one_error() {
        let mut errors = ValidationErrors::new();
        let urls = vec!["https://example.com/a.jpg".to_owned(); MAX_PHOTOS + 1];
        photos(&mut errors, "photos", &urls);
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "photos");
    }

    #[test]
    fn locations_must_be_on_the_globe() {
        let mut errors = ValidationErrors::new();
        location(
            &mut errors,
            Some(Location {
                lat: 91.0,
                lng: f64::NAN,
                address: "平城区".into(),
            }),
        );
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["location.lat", "location.lng"]);
    }
}
