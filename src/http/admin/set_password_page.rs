//! `/set-password?token=…`: the page behind the link of an activation or reset email. A plain
//! HTML form (no script) that posts back to itself; the work is the same as
//! `POST /api/password/set`, so the policy and the suspended-user refusal hold here too.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::AdminSettings;
use super::password_link::set_with_token;
use crate::http::AppState;

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Escapes text for an HTML body or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A complete page. The token sits in the URL, so the page is never cached, never framed and
/// never sent on as a referrer.
fn page(status: StatusCode, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Set your password</title>\
             <style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}\
             label,input,button{{display:block;width:100%;margin:.4rem 0}}\
             .error{{color:#a00}}</style></head>\n<body>\n<h1>Set your password</h1>\n{body}\n</body></html>\n"
        ))
}

fn form(token: &str, error: Option<&str>) -> String {
    let error = error
        .map(|message| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>\n",
                escape(message)
            )
        })
        .unwrap_or_default();
    format!(
        "{error}<form method=\"post\" action=\"set-password\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         <label for=\"password\">New password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\n\
         <label for=\"confirm\">Repeat it</label>\n\
         <input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\n\
         <button type=\"submit\">Set password</button>\n</form>",
        escape(token)
    )
}

pub async fn show(query: web::Query<TokenQuery>) -> HttpResponse {
    if query.token.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            "<p class=\"error\">This link has no token. Open the link from your email again.</p>",
        );
    }
    page(StatusCode::OK, &form(&query.token, None))
}

pub async fn submit(
    state: web::Data<AppState>,
    settings: web::Data<AdminSettings>,
    form_data: web::Form<PasswordForm>,
) -> HttpResponse {
    let PasswordForm {
        token,
        password,
        confirm,
    } = form_data.into_inner();
    if password != confirm {
        return page(
            StatusCode::BAD_REQUEST,
            &form(
                &token,
                Some("The two passwords differ; type the same one twice."),
            ),
        );
    }
    match set_with_token(&state, &settings, token.clone(), password).await {
        Ok(_) => page(
            StatusCode::OK,
            "<p>Your password is set. You can close this page and sign in.</p>",
        ),
        Err(error) => page(error.status, &form(&token, Some(&error.message))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_token_or_message_is_escaped() {
        let html = form("\"><script>x</script>", Some("<b>bad</b>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
    }
}
