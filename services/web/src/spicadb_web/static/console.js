/* SPICA-DB console: its only script (served by the console itself: the CSP allows no other, nothing
   inline). It sends the forms that write (class "writes") with fetch and the X-CSRF-Token header, the
   value of the gateway's readable CSRF cookie (double submit): without that header the gateway does not
   pass the session's token, and the console refuses the form ("Nothing was saved"). The console answers
   with a page (the night again, saved or with the API's problem); its main content replaces this one's. */
(function () {
  "use strict";

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        return decodeURIComponent(parts[i].slice(eq + 1));
      }
    }
    return "";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="spicadb-csrf-cookie"]');
    return cookie(meta ? meta.content : "spicadb_gateway_csrf");
  }

  function show(html, url) {
    var next = new DOMParser().parseFromString(html, "text/html");
    var main = next.getElementById("main");
    if (!main) {  // not one of the console's pages: let the browser show it
      window.location.assign(url);
      return;
    }
    document.getElementById("main").replaceWith(document.adoptNode(main));
    document.title = next.title;
    if (url !== window.location.href) {
      window.history.replaceState(null, "", url);
    }
    // the answer's result (a status or an alert marked data-result), else the page's main content
    var result = document.querySelector("[data-result]") || document.getElementById("flag-result") ||
      document.getElementById("main");
    result.focus();
  }

  function refusal(body, response) {
    try {
      var problem = JSON.parse(body);
      return problem.title + (problem.detail ? " (" + problem.detail + ")" : "");
    } catch (error) {
      return response.status + " " + response.statusText;
    }
  }

  async function send(form, button) {
    var headers = { "Accept": "text/html" };
    var token = csrfToken();
    if (token) {
      headers["X-CSRF-Token"] = token;
    }
    if (button) {
      button.disabled = true;
    }
    try {
      var response = await fetch(form.action, {
        method: "POST",
        // a form with a file goes as multipart, as the browser would send it; the others url-encoded
        body: form.enctype === "multipart/form-data" ? new FormData(form) : new URLSearchParams(new FormData(form)),
        headers: headers,
        credentials: "same-origin",
      });
      var body = await response.text();
      var page = (response.headers.get("content-type") || "").indexOf("text/html") === 0;
      if (!response.ok && !page) {
        // refused before the console (the gateway: a body over its route's limit, say): its problem's title
        window.alert("Nothing was saved: " + refusal(body, response) + ".");
        if (button) {
          button.disabled = false;
        }
        return;
      }
      show(body, response.url);
    } catch (error) {
      window.alert("The console could not be reached: nothing was saved. (" + error + ")");
      if (button) {
        button.disabled = false;
      }
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("writes")) {
      return;
    }
    event.preventDefault();
    send(form, event.submitter || form.querySelector("button[type=submit]"));
  });
})();
