// The invite form: choosing a tenant fills in their e-mail (unless staff typed another
// one), and a warning appears when the tenant lives in another unit than the invite's.
"use strict";
(function () {
  function start() {
    const marker = document.getElementById("onboarding-invite-form");
    const tenant = document.getElementById("id_tenant");
    const space = document.getElementById("id_space");
    const email = document.getElementById("id_email");
    if (!marker || !tenant || !email) {
      return;
    }
    const tenantUrl = marker.dataset.tenantUrl; // .../tenant/0/
    let filled = ""; // the e-mail this script put in, replaced when the tenant changes
    let chosen = null; // {email, unit_id, unit} of the chosen tenant

    const warning = document.createElement("div");
    warning.className = "onboarding-tenant-warning";
    warning.style.cssText = "color:#ba2121; margin:6px 0; font-weight:600";
    warning.hidden = true;
    (tenant.closest(".form-row") || tenant.parentElement).appendChild(warning);

    function warn() {
      const elsewhere = chosen && space && space.value && String(chosen.unit_id) !== space.value;
      warning.hidden = !elsewhere;
      warning.textContent = elsewhere
        ? "This tenant lives in " + chosen.unit + ", not in the unit chosen above: " +
          "the invite gives them access to that unit."
        : "";
    }

    function tenantChanged(event, keepEmail) {
      if (!tenant.value) {
        chosen = null;
        warn();
        return;
      }
      fetch(tenantUrl.replace(/0\/$/, tenant.value + "/"), { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => {
          chosen = data;
          if (data && !keepEmail && (!email.value || email.value === filled)) {
            email.value = data.email;
            filled = data.email;
          }
          warn();
        });
    }

    // The admin's autocomplete (select2) announces changes through jQuery only.
    const $ = window.django && window.django.jQuery;
    if ($) {
      $(tenant).on("change", tenantChanged);
      if (space) {
        $(space).on("change", warn);
      }
    } else {
      tenant.addEventListener("change", tenantChanged);
      if (space) {
        space.addEventListener("change", warn);
      }
    }
    if (tenant.value) {
      tenantChanged(null, true); // a saved invite keeps its e-mail; only warn
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
