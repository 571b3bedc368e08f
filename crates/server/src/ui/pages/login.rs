//! The sign-in page: an admin key, exchanged for a session cookie.

use crate::ui::layout::{Session, escape, page};

pub fn login_page(problem: Option<&str>) -> String {
    let problem = problem
        .map(|text| format!(r#"<p class="problem" role="alert">{}</p>"#, escape(text)))
        .unwrap_or_default();
    let body = format!(
        r#"<section class="card narrow">
<h1>Sign in</h1>
<p>The dashboard needs an <strong>admin</strong> API key (one of <code>auth.admin_keys</code>). It is checked once and kept as a session cookie, not in the page.</p>
{problem}
<form method="post" action="/ui/login" class="login">
<label for="key">Admin API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</section>"#
    );
    page("Sign in", &body, Session::SignedOut)
}
