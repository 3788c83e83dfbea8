//! Service configuration: from CLI flags or `CAREMARKET_*` environment variables (clap reads
//! both). Settings an admin changes at run time live in the database instead (`admin::settings`).

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// sqlite://PATH (created on first use) or postgres://USER@HOST/DB
    #[arg(
        long,
        env = "CAREMARKET_DATABASE_URL",
        default_value = "sqlite://caremarket.db"
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address and port to listen on
    #[arg(long, env = "CAREMARKET_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The address users reach the service at; used in e-mailed links. An https:// address
    /// also marks cookies Secure.
    #[arg(long, env = "CAREMARKET_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mark cookies Secure even when the public URL is not given (behind a TLS proxy).
    #[arg(long, env = "CAREMARKET_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// Take the client address from X-Forwarded-For (only behind a proxy you run).
    #[arg(long, env = "CAREMARKET_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// SMTP relay for outgoing mail, e.g. smtp://relay.council.gov.uk:25; unset keeps mail
    /// in-app only.
    #[arg(long, env = "CAREMARKET_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail
    #[arg(
        long,
        env = "CAREMARKET_MAIL_FROM",
        default_value = "caremarket@localhost"
    )]
    pub mail_from: String,
    /// Log format: text or json
    #[arg(long, env = "CAREMARKET_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// What the running service needs, resolved from [`ServeArgs`].
#[derive(Debug, Clone)]
pub struct Config {
    pub public_url: String,
    pub secure_cookies: bool,
    pub trust_proxy: bool,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Base delay added after repeated sign-in failures; tests shorten it.
    pub throttle_delay_ms: u64,
}

impl Config {
    pub fn from_args(a: &ServeArgs) -> Config {
        let public_url = a
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", a.bind))
            .trim_end_matches('/')
            .to_string();
        Config {
            secure_cookies: a.secure_cookies || public_url.starts_with("https://"),
            public_url,
            trust_proxy: a.trust_proxy,
            smtp_url: a.smtp_url.clone(),
            mail_from: a.mail_from.clone(),
            throttle_delay_ms: 1000,
        }
    }

    /// For CLI commands that do not serve: links use the default address.
    pub fn for_cli() -> Config {
        let public_url = std::env::var("CAREMARKET_PUBLIC_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8080".into());
        Config {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            trust_proxy: false,
            smtp_url: std::env::var("CAREMARKET_SMTP_URL").ok(),
            mail_from: "caremarket@localhost".into(),
            throttle_delay_ms: 1000,
        }
    }

    pub fn for_tests() -> Config {
        Config {
            public_url: "http://caremarket.test".into(),
            secure_cookies: false,
            trust_proxy: false,
            smtp_url: None,
            mail_from: "caremarket@localhost".into(),
            throttle_delay_ms: 5,
        }
    }
}
