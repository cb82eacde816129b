// Keyboard flow and in-place updates for the review queue. Without JavaScript every form still works.
(() => {
  "use strict";
  const TYPING = /^(text|search|number|date|password|email|url|tel)$/;
  const undoStack = [];
  let lastItem = null;

  const items = () => Array.from(document.querySelectorAll("ol.items article.item"));
  const say = (text) => {
    const region = document.getElementById("meldingen");
    if (!region || !text) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 50);
  };
  const current = () => {
    const active = document.activeElement;
    const here = active && active.closest ? active.closest("article.item") : null;
    return here || (lastItem && lastItem.isConnected ? lastItem : null);
  };
  const focusItem = (el) => {
    if (!el) return;
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
  };
  const move = (delta) => {
    const list = items();
    if (!list.length) return;
    const cur = current();
    const i = cur ? list.indexOf(cur) + delta : 0;
    focusItem(list[Math.max(0, Math.min(list.length - 1, i))]);
  };
  const isTyping = (el) => el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
    (el.tagName === "INPUT" && TYPING.test(el.type)) || el.isContentEditable);

  document.addEventListener("focusin", (ev) => {
    const item = ev.target.closest && ev.target.closest("article.item");
    if (item) lastItem = item;
  });

  // decisions inside the queue: post with fetch, swap the item for the server's new rendering
  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    const article = form.closest("ol.items article.item");
    if (!form.classList.contains("decision") || !article) return;
    ev.preventDefault();
    const data = new FormData(form, ev.submitter || undefined);
    const action = data.get("action");
    if (action === "reject" && !data.get("reason")) {   // the button without a reason: ask, as x does
      reject(article);
      return;
    }
    // a second press before the answer would carry the same version: refused as stale, its answer
    // would land on a card already replaced and be announced as "not saved" over the first one's
    if (article.dataset.busy) {
      say("Even geduld: de vorige beslissing over deze post wordt nog opgeslagen.");
      return;
    }
    article.dataset.busy = "1";
    let response, text;
    try {
      response = await fetch(form.getAttribute("action"), {
        method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
      text = await response.text();
    } catch (e) {
      say("Geen verbinding met de server: de beslissing is niet opgeslagen.");
      return;
    } finally {
      delete article.dataset.busy;
    }
    if (!(response.headers.get("content-type") || "").startsWith("text/html")) {
      say(text);
      window.alert(text);
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = text.trim();
    const fresh = template.content.firstElementChild;
    article.replaceWith(fresh);
    // the bulk form names the version and the text's change of each post on the page as loaded:
    // this one's are the card's now (she has seen its text as it is)
    const onPage = document.querySelector(`#bulk input[name=pagina][value^="${fresh.dataset.id}:"]`);
    if (onPage) onPage.value = `${fresh.dataset.id}:${fresh.dataset.version}`;
    const seenOnPage = document.querySelector(`#bulk input[name=changed_at][value^="${fresh.dataset.id}:"]`);
    const seenOnCard = fresh.querySelector("input[name=changed_at]");
    if (seenOnPage && seenOnCard) seenOnPage.value = `${fresh.dataset.id}:${seenOnCard.value}`;
    const note = fresh.querySelector(".ok, .problem");
    say(note ? note.textContent.trim() : "");
    if (response.ok && action !== "undo") undoStack.push(fresh.dataset.id);
    const confirm = fresh.querySelector("button.confirm-empty");
    if (response.ok && ["accept", "accept_without_theme", "reject", "duplicate"].includes(action)) {
      const list = items();
      focusItem(list[list.indexOf(fresh) + 1] || fresh);
    } else if (confirm) {
      lastItem = fresh;
      confirm.focus();
    } else {
      focusItem(fresh);
    }
  });

  // rejecting: the reason is chosen in a dialog, or once per session (shown above the queue)
  const REASON_KEY = "innoverheid-reden";
  const reasonDialog = document.getElementById("reden-kiezen");
  let rejecting = null;
  const showSessionReason = () => {
    const banner = document.getElementById("sessie-reden");
    if (!banner) return;
    const code = sessionStorage.getItem(REASON_KEY);
    const label = code && document.querySelector(`label[for="reden-keuze-${code}"]`);
    banner.hidden = !label;
    if (label) banner.querySelector("strong").textContent = label.textContent.replace(/^\s*\d\s*/, "");
  };
  const rejectWith = (article, code) => {
    const select = article && article.querySelector("select[name=reason]");
    if (!select) return;
    select.value = code;
    press(article, 'button[value="reject"]');
  };
  const reject = (article) => {
    if (!article) return;
    const remembered = sessionStorage.getItem(REASON_KEY);
    if (remembered) {
      rejectWith(article, remembered);
    } else if (reasonDialog) {
      rejecting = article;
      reasonDialog.showModal();
      const checked = reasonDialog.querySelector("input[name=reden]:checked");
      if (checked) checked.focus();
    }
  };
  if (reasonDialog) {
    reasonDialog.addEventListener("close", () => {
      const article = rejecting;
      rejecting = null;
      if (reasonDialog.returnValue !== "afwijzen" || !article) {
        if (article) focusItem(article);
        return;
      }
      const code = reasonDialog.querySelector("input[name=reden]:checked").value;
      if (document.getElementById("reden-onthouden").checked) {
        sessionStorage.setItem(REASON_KEY, code);
        showSessionReason();
      }
      rejectWith(article, code);
    });
    reasonDialog.addEventListener("keydown", (ev) => {
      const choice = /^[1-9]$/.test(ev.key) && reasonDialog.querySelectorAll("input[name=reden]")[Number(ev.key) - 1];
      if (!choice) return;
      ev.preventDefault();
      ev.stopPropagation();
      choice.checked = true;
      reasonDialog.close("afwijzen");
    });
  }
  const forget = document.querySelector("#sessie-reden button");
  if (forget) forget.addEventListener("click", () => {
    sessionStorage.removeItem(REASON_KEY);
    showSessionReason();
    say("De reden is vergeten: x vraagt weer om een reden.");
  });
  showSessionReason();

  const showCandidates = async (article) => {
    const link = article.querySelector("a.show-candidates");
    const box = article.querySelector(".candidates");
    if (!link || !box) return;
    const response = await fetch(link.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    box.innerHTML = await response.text();
    const first = box.querySelector("button.candidate") || box.querySelector("h3");
    if (first) first.focus();
    say(box.querySelector("li") ? "Kandidaten geladen: kies met Tab en Enter." : "Geen vergelijkbare posts gevonden.");
  };

  document.addEventListener("click", (ev) => {
    const link = ev.target.closest && ev.target.closest("a.show-candidates");
    const article = link && link.closest("ol.items article.item");
    if (article) {
      ev.preventDefault();
      showCandidates(article);
    }
  });

  const press = (article, selector) => {
    const button = article && article.querySelector(selector);
    if (button && !button.disabled) button.form.requestSubmit(button);
  };

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.name === "note") {
      ev.preventDefault();
      press(ev.target.closest("article.item"), 'button[value="note"]');
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const help = document.getElementById("hulp");
    if (ev.key === "Escape") {
      const item = current();
      if (item && ev.target !== item && !(help && help.open)) {
        ev.preventDefault();
        focusItem(item);
      }
      return;
    }
    if (ev.key === "Enter" && ev.target.name === "duplicate_of") {
      ev.preventDefault();
      press(ev.target.closest("article.item"), 'button[value="duplicate"]');
      return;
    }
    if (isTyping(ev.target)) return;
    if (ev.key === "?") {
      ev.preventDefault();
      if (!help) return;
      if (help.open) help.close(); else help.showModal();
      return;
    }
    if ((help && help.open) || (reasonDialog && reasonDialog.open)) return;
    const article = current();
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": press(article, 'button[value="accept"]'); break;
      case "x": reject(article); break;
      case "d": if (article) showCandidates(article); break;
      case "n": {
        const note = article && article.querySelector("textarea[name=note]");
        if (note) {
          note.closest("details").open = true;
          note.focus();
        }
        break;
      }
      case "u": {
        const id = undoStack.pop();
        const target = (id && document.getElementById("post-" + id)) || article;
        press(target, 'button[value="undo"]');
        break;
      }
      default:
        if (/^[1-9]$/.test(ev.key) && article) {
          const box = article.querySelector(`input[name=themes][data-index="${ev.key}"]`);
          if (!box) return;
          box.checked = !box.checked;
          const name = box.closest("label").textContent.replace(/\s+/g, " ").trim();
          say(`${name}: ${box.checked ? "aan" : "uit"}. Nog niet opgeslagen; a accepteert.`);
        } else {
          return;
        }
    }
    ev.preventDefault();
  });
})();
