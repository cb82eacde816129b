// Related ideas in the queue: "Verwante ideeën tonen" loads the list into the card instead of leaving the page.
(() => {
  "use strict";
  document.addEventListener("click", async (ev) => {
    const link = ev.target.closest && ev.target.closest("a.show-related");
    const article = link && link.closest("article.item");
    const box = article && article.querySelector(".related-box");
    if (!box) return;
    ev.preventDefault();
    const response = await fetch(link.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    box.innerHTML = await response.text();
    const heading = box.querySelector("h3");
    if (heading) heading.focus();
  });
})();
