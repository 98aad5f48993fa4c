//! Logging: human-readable text in development, JSON lines in production. `RUST_LOG`
//! overrides `log.filter`. Every line passes through `platform::redact` on its way out, so
//! codes, tokens, secrets and phone numbers never reach the log, whoever wrote the message.

use platform::config::{LogFormat, LogSettings};
use std::io::Write;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStdout)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    // `try_init`: tests start many apps in one process; the first subscriber wins.
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Standard output, redacted. The formatter hands each event over as one whole line, which
/// is redacted and written at once.
struct RedactingStdout;

impl<'a> MakeWriter<'a> for RedactingStdout {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine(Vec::new())
    }
}

/// One event's bytes, written redacted when the formatter is done with it.
pub struct RedactingLine(Vec<u8>);

impl Write for RedactingLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let masked = platform::redact::redact(&text);
        let _ = std::io::stdout().lock().write_all(masked.as_bytes());
    }
}
