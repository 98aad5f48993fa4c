//! Redaction of log lines: the one place where secrets that may have slipped into a message
//! are masked before the line is written. Request paths (merchant invite codes), query
//! strings (WeChat's `secret`, a resident's `js_code`, `access_token`), bearer tokens, JWTs,
//! JSON fields that carry codes or passwords, and mainland mobile numbers. Code paths avoid
//! logging such values in the first place; this catches what a dependency's error text or a
//! future log line lets through.

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        [
            // key=value in URLs and forms.
            (
                r"(?i)\b(secret|appsecret|app_secret|js_code|code|access_token|refresh_token|token|password|signature)=[^&\s\x22'<>]+",
                "$1=***",
            ),
            // "key": "value" in JSON (not `code`: in our own log lines that is a problem code).
            (
                r#"(?i)"(secret|app_secret|js_code|access_token|refresh_token|password|gate_secret|phone|phone_number|purePhoneNumber)"\s*:\s*"[^"]*""#,
                r#""$1":"***""#,
            ),
            // Invite codes travel in the path.
            (r"/merchant-invites/[^/\s\x22'?]+", "/merchant-invites/***"),
            (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+", "Bearer ***"),
            (
                r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
                "***",
            ),
            // Mainland mobiles: 1[3-9]x xxxx xxxx, not inside a longer number (ids, times).
            (
                r"(^|[^0-9A-Za-z])(1[3-9][0-9])[0-9]{4}([0-9]{4})($|[^0-9A-Za-z])",
                "$1$2****$3$4",
            ),
        ]
        .into_iter()
        .filter_map(|(pattern, replacement)| {
            Regex::new(pattern)
                .ok()
                .map(|pattern| Rule { pattern, replacement })
        })
        .collect()
    })
}

/// `line` with every secret it carries masked; borrowed when there was nothing to mask.
pub fn redact(line: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(line);
    for rule in rules() {
        if rule.pattern.is_match(&out) {
            out = Cow::Owned(
                rule.pattern
                    .replace_all(&out, rule.replacement)
                    .into_owned(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn every_rule_compiles() {
        assert_eq!(super::rules().len(), 6);
    }

    #[test]
    fn secrets_in_urls_paths_headers_and_json_are_masked() {
        let cases = [
            (
                "error sending request for url (https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=S3CR3T&js_code=0a1B2c&grant_type=authorization_code)",
                "appid=wx1&secret=***&js_code=***&grant_type=authorization_code",
            ),
            ("POST /api/v1/merchant-invites/K7Q2-XY9P/accept", "/merchant-invites/***/accept"),
            ("authorization: Bearer abc.def-ghi", "Bearer ***"),
            (
                r#"{"js_code":"0a1B","password":"linli-demo","code":"dev-13800000000"}"#,
                r#"{"js_code":"***","password":"***","code":"dev-138****0000"}"#,
            ),
            (r#""code":"wechat_unavailable""#, r#""code":"wechat_unavailable""#),
            ("phone 13812345678 bound", "phone 138****5678 bound"),
            ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln end", "token *** end"),
        ];
        for (line, expected) in cases {
            let masked = redact(line);
            assert!(masked.contains(expected), "{line} → {masked}");
        }
    }

    #[test]
    fn ordinary_lines_are_left_alone() {
        for line in [
            "request finished status=200 elapsed_ms=3.2 route=/api/v1/offers/{id}",
            "user_id=0193a8f2-7c41-7d21-9a3b-13812345678f",
            "at 2026-12-01T20:13:07.123456Z took 13812345678901 ns",
            "新华社区 共 4 件诉求",
        ] {
            assert_eq!(redact(line), line);
        }
    }
}
