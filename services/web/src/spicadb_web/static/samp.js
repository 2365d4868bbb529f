/* SPICA-DB console: "Send to Aspro2/TOPCAT" over SAMP (the Web Profile of SAMP 1.3), our own small
   client. The targets ticked in a programme's table go to the console (with the session's X-CSRF-Token,
   like console.js), which keeps their Aspro2 VOTable under a short-lived URL; that URL is then handed to
   the SAMP hub on this computer (XML-RPC over HTTP at localhost:21012, the port the standard fixes) in a
   table.load.votable message. The receiving application fetches the URL itself, without our cookie. */
(function () {
  "use strict";

  var HUB = "http://localhost:21012/";
  var NAME = "SPICA-DB console";
  var MTYPE = "table.load.votable";
  var APPS = { topcat: "TOPCAT", aspro2: "Aspro2" };

  function NoHub() {}

  // XML-RPC, the values SAMP uses: strings, lists and maps ------------------------------------------

  function escape(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function encode(value) {
    if (Array.isArray(value)) {
      return "<value><array><data>" + value.map(encode).join("") + "</data></array></value>";
    }
    if (value !== null && typeof value === "object") {
      return "<value><struct>" + Object.keys(value).map(function (key) {
        return "<member><name>" + escape(key) + "</name>" + encode(value[key]) + "</member>";
      }).join("") + "</struct></value>";
    }
    return "<value><string>" + escape(value) + "</string></value>";
  }

  function children(node) {
    return Array.prototype.filter.call(node.childNodes, function (n) { return n.nodeType === 1; });
  }

  function decode(valueNode) {
    var typed = children(valueNode)[0];
    if (!typed) {
      return valueNode.textContent;  // a value without a type element is a string
    }
    switch (typed.nodeName) {
      case "struct":
        var map = {};
        children(typed).forEach(function (member) {
          var name = member.getElementsByTagName("name")[0].textContent;
          map[name] = decode(children(member).filter(function (n) { return n.nodeName === "value"; })[0]);
        });
        return map;
      case "array":
        var data = children(typed)[0];
        return data ? children(data).map(decode) : [];
      case "int": case "i4": case "double":
        return Number(typed.textContent);
      case "boolean":
        return typed.textContent.trim() === "1";
      case "nil":
        return null;
      default:
        return typed.textContent;
    }
  }

  async function call(method, params) {
    var body = "<?xml version=\"1.0\"?><methodCall><methodName>" + method + "</methodName><params>" +
      params.map(function (p) { return "<param>" + encode(p) + "</param>"; }).join("") +
      "</params></methodCall>";
    var response;
    try {
      response = await fetch(HUB, {
        method: "POST", body: body, headers: { "Content-Type": "text/xml" }, credentials: "omit",
      });
    } catch (error) {
      throw new NoHub();  // nothing listens on the Web Profile's port
    }
    var xml = new DOMParser().parseFromString(await response.text(), "text/xml");
    var fault = xml.getElementsByTagName("fault")[0];
    if (fault) {
      var detail = decode(children(fault)[0]);
      throw new Error("the SAMP hub refused: " + (detail.faultString || "no reason given"));
    }
    var value = xml.getElementsByTagName("value")[0];
    if (!response.ok || !value) {
      throw new Error("the SAMP hub answered " + response.status);
    }
    return decode(value);
  }

  // the console's side: a ticket for the ticked targets --------------------------------------------

  function csrfToken() {
    var meta = document.querySelector('meta[name="spicadb-csrf-cookie"]');
    var name = meta ? meta.content : "spicadb_gateway_csrf";
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        return decodeURIComponent(parts[i].slice(eq + 1));
      }
    }
    return "";
  }

  function ticked(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name === "target" && field.checked;
    });
  }

  async function ticket(form, boxes) {
    var body = new URLSearchParams();
    boxes.forEach(function (box) { body.append("target", box.value); });
    var headers = { "Accept": "application/json" };
    var token = csrfToken();
    if (token) {
      headers["X-CSRF-Token"] = token;
    }
    var response = await fetch(form.action, {
      method: "POST", body: body, headers: headers, credentials: "same-origin",
    });
    var answer = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      throw new Error((answer.title || "Refused") + (answer.detail ? ": " + answer.detail : ""));
    }
    return answer;
  }

  // the hub's side ---------------------------------------------------------------------------------

  // the subscribed client whose samp.name names the application ("topcat", "aspro2")
  async function recipient(key, ids, app) {
    for (var i = 0; i < ids.length; i++) {
      var meta = await call("samp.webhub.getMetadata", [key, ids[i]]);
      if (String(meta["samp.name"] || "").toLowerCase().indexOf(app) !== -1) {
        return ids[i];
      }
    }
    return null;
  }

  // what the page says when the message reached nobody
  var NOBODY = {
    topcat: "TOPCAT is not connected to the SAMP hub: start it, then send again.",
    aspro2: "Aspro2 is not connected to the SAMP hub: start it, then send again.",
    all: "No SAMP application takes tables: start Aspro2 or TOPCAT, then send again.",
  };

  // registered first (the hub may ask the person to accept the console), the recipient found, and only
  // then a ticket: nothing is kept for an application that is not there
  async function deliver(form, boxes, app) {
    var registration = await call("samp.webhub.register", [{ "samp.name": NAME }]);
    var key = registration["samp.private-key"];
    try {
      await call("samp.webhub.declareMetadata", [key, {
        "samp.name": NAME, "samp.description.text": "Targets of a SPICA-DB programme",
      }]);
      var subscribed = Object.keys(await call("samp.webhub.getSubscribedClients", [key, MTYPE]));
      var id = app === "all" ? null : await recipient(key, subscribed, app);
      if (!subscribed.length || (app !== "all" && id === null)) {
        return NOBODY[app];
      }
      var table = await ticket(form, boxes);
      var message = {
        "samp.mtype": MTYPE,
        "samp.params": { "url": table.url, "table-id": table.table_id, "name": table.name },
      };
      if (app === "all") {
        var reached = await call("samp.webhub.notifyAll", [key, message]);
        return table.targets + " target(s) sent to " + reached.length + " SAMP application(s).";
      }
      await call("samp.webhub.notify", [key, id, message]);
      return table.targets + " target(s) sent to " + APPS[app] + ".";
    } finally {
      await call("samp.webhub.unregister", [key]).catch(function () {});
    }
  }

  function say(form, text) {
    var status = form.querySelector("#samp-status");
    status.textContent = text;
    status.focus();
  }

  async function send(form, button) {
    var app = button && APPS[button.value] ? button.value : "all";
    var boxes = ticked(form);
    if (!boxes.length) {
      say(form, "Select at least one target in the table first.");
      return;
    }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    say(form, "Sending " + boxes.length + " target(s)…");
    try {
      await call("samp.webhub.ping", []);
      say(form, await deliver(form, boxes, app));
    } catch (error) {
      say(form, error instanceof NoHub ? "No SAMP hub: start Aspro2 or TOPCAT, then send again." :
        "Nothing was sent: " + error.message);
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  // "select all on this page": the header's checkbox ticks every target of the table --------------

  function targetBoxes() {
    return document.querySelectorAll('input[name="target"][form="samp-form"]');
  }

  function reflect() {
    var all = document.getElementById("samp-all");
    if (!all) {
      return;
    }
    var boxes = Array.prototype.slice.call(targetBoxes());
    var on = boxes.filter(function (b) { return b.checked; }).length;
    all.checked = boxes.length > 0 && on === boxes.length;
    all.indeterminate = on > 0 && on < boxes.length;
  }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.id === "samp-all") {
      targetBoxes().forEach(function (box) { box.checked = field.checked; });
    } else if (field.name === "target") {
      reflect();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "samp-form") {
      return;
    }
    event.preventDefault();
    send(form, event.submitter);
  });

  // the buttons and "select all" show once this script runs (console.css)
  document.documentElement.classList.add("samp-ready");
})();
