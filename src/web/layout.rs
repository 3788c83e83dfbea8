//! The page frame shared by every page: header with the service name, navigation by role,
//! phase banner, skip link, footer and flash messages.

use askama::Template;
use axum::http::header::{self, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use caremarket_core::Role;

use super::error::{AppError, ErrorInfo};
use super::pipeline::RequestCtx;
use crate::AppState;

#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// Everything the layout needs; every page template has it as its `page` field.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub title: String,
    pub service_name: String,
    pub signed_in: bool,
    pub user_email: String,
    pub role_label: String,
    pub nav: Vec<NavItem>,
    pub csrf_token: String,
    pub flash: Option<String>,
    pub request_id: String,
    pub unread_notifications: i64,
}

/// The sections a role sees in the header, in order. Capabilities add theirs here.
fn nav_for(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("Home", "/"),
        ("Locations", "/locations"),
        ("Data quality", "/data-quality"),
    ];
    if matches!(
        role,
        Role::Admin | Role::Commissioner | Role::Broker | Role::Viewer
    ) {
        v.push(("Quality", "/quality"));
        v.push(("Find a bed", "/capacity"));
    }
    if matches!(role, Role::Admin | Role::Commissioner | Role::Broker) {
        v.push(("Care requests", "/brokerage/requests"));
        v.push(("Packages", "/brokerage/packages"));
        v.push(("Lots", "/brokerage/lots"));
    }
    if role == Role::Provider {
        v.push(("Offers of home care", "/offers"));
        v.push(("Your packages", "/packages"));
        v.push(("Your QA visits", "/quality/visits"));
        v.push(("Your action plans", "/quality/plans"));
        v.push(("Your vacancies", "/capacity/homes"));
        v.push(("Your returns", "/capacity/returns"));
        v.push(("Survey of the council", "/quality/survey"));
        v.push(("Your cost returns", "/cost-of-care/returns"));
    }
    if matches!(
        role,
        Role::Admin | Role::Commissioner | Role::Broker | Role::Viewer
    ) {
        v.push(("Awaiting care", "/brokerage/awaiting"));
    }
    if matches!(role, Role::Admin | Role::Commissioner | Role::Viewer) {
        v.push(("Cost of care", "/cost-of-care"));
        v.push(("Sufficiency", "/sufficiency"));
    }
    if matches!(role, Role::Admin | Role::Commissioner) {
        v.push(("Imports", "/imports"));
    }
    if role == Role::Admin {
        v.extend([
            ("Users", "/admin/users"),
            ("Areas", "/admin/areas"),
            ("Settings", "/admin/settings"),
            ("Audit log", "/admin/audit"),
        ]);
    }
    v
}

impl PageCtx {
    pub fn new(state: &AppState, ctx: &RequestCtx, title: impl Into<String>) -> PageCtx {
        let settings = state.settings();
        let (signed_in, user_email, role_label, nav) = match &ctx.user {
            Some(u) if u.fully_signed_in() => {
                let nav = nav_for(u.role)
                    .into_iter()
                    .map(|(label, href)| NavItem {
                        label,
                        href,
                        active: if href == "/" {
                            ctx.path == "/"
                        } else {
                            ctx.path.starts_with(href)
                        },
                    })
                    .collect();
                (true, u.email.clone(), u.role.label().to_string(), nav)
            }
            Some(u) => (true, u.email.clone(), u.role.label().to_string(), vec![]),
            None => (false, String::new(), String::new(), vec![]),
        };
        PageCtx {
            title: title.into(),
            service_name: settings.service_name.clone(),
            signed_in,
            user_email,
            role_label,
            nav,
            csrf_token: ctx.csrf_token.clone(),
            flash: ctx.flash.clone(),
            request_id: ctx.request_id.clone(),
            unread_notifications: 0,
        }
    }
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Response, AppError> {
    let html = t
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(Html(html).into_response())
}

/// The same, with a status (a form re-shown with errors is 422).
pub fn render_status<T: Template>(
    status: axum::http::StatusCode,
    t: &T,
) -> Result<Response, AppError> {
    let mut r = render(t)?;
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageCtx,
    status: u16,
    detail: String,
    show_sign_in: bool,
}

pub async fn error_page(state: &AppState, ctx: &RequestCtx, info: &ErrorInfo) -> Response {
    let page = ErrorPage {
        page: PageCtx::new(state, ctx, info.title.clone()),
        status: info.status.as_u16(),
        detail: info.detail.clone(),
        show_sign_in: info.status.as_u16() == 401
            || (info.status.as_u16() == 403 && ctx.user.is_none()),
    };
    match page.render() {
        Ok(html) => {
            let mut res = (info.status, Html(html)).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(_) => (info.status, info.title.clone()).into_response(),
    }
}
