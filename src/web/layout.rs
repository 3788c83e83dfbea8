//! The page frame shared by every page: header with the service name, navigation by role,
//! phase banner, skip link, footer and flash messages.

use askama::Template;
use axum::http::header::{self, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use caremarket_core::Role;

use super::error::{AppError, ErrorInfo};
use super::request::RequestCtx;
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

/// A link in the header menu. Who sees it is not said here: a role sees a link only where
/// the route table lets it open the page (see [`nav_for`]).
struct MenuLink {
    label: &'static str,
    href: &'static str,
    /// A provider's own view of a page council officers reach another way (the council's
    /// officers find visits, plans and homes from /quality and /capacity).
    providers_only: bool,
}

const fn link(label: &'static str, href: &'static str) -> MenuLink {
    MenuLink {
        label,
        href,
        providers_only: false,
    }
}

const fn providers(label: &'static str, href: &'static str) -> MenuLink {
    MenuLink {
        label,
        href,
        providers_only: true,
    }
}

/// The header menu, in order. Capabilities add their sections here.
const MENU: &[MenuLink] = &[
    link("Home", "/"),
    link("Locations", "/locations"),
    link("Data quality", "/data-quality"),
    link("Quality", "/quality"),
    link("Find a bed", "/capacity"),
    link("Care requests", "/brokerage/requests"),
    link("Packages", "/brokerage/packages"),
    link("Lots", "/brokerage/lots"),
    link("Offers of home care", "/offers"),
    link("Your packages", "/packages"),
    providers("Your QA visits", "/quality/visits"),
    providers("Your action plans", "/quality/plans"),
    providers("Your vacancies", "/capacity/homes"),
    link("Your returns", "/capacity/returns"),
    link("Survey of the council", "/quality/survey"),
    providers("Your cost returns", "/cost-of-care/returns"),
    link("Awaiting care", "/brokerage/awaiting"),
    link("Cost of care", "/cost-of-care"),
    link("Sufficiency", "/sufficiency"),
    link("Imports", "/imports"),
    link("Users", "/admin/users"),
    link("Areas", "/admin/areas"),
    link("Settings", "/admin/settings"),
    link("Audit log", "/admin/audit"),
];

/// The sections a role sees in the header: the menu's links whose pages the route table lets
/// the role open (one copy of the access rules: the routes').
fn nav_for(role: Role) -> Vec<(&'static str, &'static str)> {
    MENU.iter()
        .filter(|m| !m.providers_only || role == Role::Provider)
        .filter(|m| crate::app::page_access(m.href).is_some_and(|a| a.allows(role)))
        .map(|m| (m.label, m.href))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_menu_link_is_a_page_in_the_route_table() {
        for m in MENU {
            assert!(
                crate::app::page_access(m.href).is_some(),
                "{} is not a GET route",
                m.href
            );
        }
    }

    /// The menus as they were when each role's were listed by hand: deriving them from the
    /// route table changed none.
    #[test]
    fn each_role_sees_the_links_it_may_open() {
        let hrefs = |r| nav_for(r).into_iter().map(|(_, h)| h).collect::<Vec<_>>();
        assert_eq!(
            hrefs(Role::Viewer),
            [
                "/",
                "/locations",
                "/data-quality",
                "/quality",
                "/capacity",
                "/brokerage/awaiting",
                "/cost-of-care",
                "/sufficiency"
            ]
        );
        assert_eq!(
            hrefs(Role::Broker),
            [
                "/",
                "/locations",
                "/data-quality",
                "/quality",
                "/capacity",
                "/brokerage/requests",
                "/brokerage/packages",
                "/brokerage/lots",
                "/brokerage/awaiting"
            ]
        );
        assert_eq!(
            hrefs(Role::Provider),
            [
                "/",
                "/locations",
                "/data-quality",
                "/offers",
                "/packages",
                "/quality/visits",
                "/quality/plans",
                "/capacity/homes",
                "/capacity/returns",
                "/quality/survey",
                "/cost-of-care/returns"
            ]
        );
        assert_eq!(
            hrefs(Role::Commissioner),
            [
                "/",
                "/locations",
                "/data-quality",
                "/quality",
                "/capacity",
                "/brokerage/requests",
                "/brokerage/packages",
                "/brokerage/lots",
                "/brokerage/awaiting",
                "/cost-of-care",
                "/sufficiency",
                "/imports"
            ]
        );
        let admin = hrefs(Role::Admin);
        assert_eq!(admin.len(), 16);
        assert!(admin.ends_with(&[
            "/imports",
            "/admin/users",
            "/admin/areas",
            "/admin/settings",
            "/admin/audit"
        ]));
    }
}
