/* Deals board: drag a card to another stage (HTML5 drag and drop), or use the card's buttons.
 *
 * Every change is an ordinary form post to the board's own endpoints, sent with fetch and the header
 * HX-Request, carrying the deal's version: the server answers with the whole board (#board) and a message,
 * which is swapped in and announced in the live region. A stale board is not written over: the server refuses
 * and sends the current board back. Dropping on the Lost column asks for the reason in a <dialog>; cancelling
 * leaves the card where it was. Without this script the same forms post and redirect as usual.
 */
(() => {
  "use strict";
  const app = document.getElementById("board-app");
  if (!app) return;
  const live = document.getElementById("board-live");
  const dialog = document.getElementById("lost-dialog");
  let dragged = null; // the card being dragged
  let pendingLoss = null; // the card waiting for its lost reason

  const board = () => document.getElementById("board");

  function announce(text, level) {
    live.textContent = text || "";
    live.className = "board-live" + (text ? " flash flash-" + (level || "info") : "");
  }

  function filters() {
    const b = board();
    return { pipeline: b.dataset.pipeline || "", owner: b.dataset.owner || "all", q: b.dataset.q || "" };
  }

  async function send(url, fields, focusId) {
    const body = new URLSearchParams({ ...filters(), ...fields, _csrf_token: app.dataset.csrf });
    app.setAttribute("aria-busy", "true");
    announce(app.dataset.msgSaving, "info");
    let html = "";
    try {
      const response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        headers: { "HX-Request": "true", "X-CSRFToken": app.dataset.csrf },
      });
      html = await response.text();
    } catch (error) {
      html = "";
    } finally {
      app.removeAttribute("aria-busy");
    }
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
    if (!fresh) {
      announce(app.dataset.msgFailed, "error");
      return;
    }
    board().replaceWith(fresh);
    announce(fresh.dataset.message, fresh.dataset.level);
    const card = focusId && document.getElementById("deal-" + focusId);
    if (card) card.focus();
  }

  function cardOf(element) {
    return element && element.closest ? element.closest(".deal-card") : null;
  }

  // --- the keyboard / no-drag path: the card's own forms, sent the same way -----------------------------------
  app.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-board-form")) return;
    event.preventDefault();
    const card = cardOf(form);
    const fields = Object.fromEntries(new FormData(form).entries());
    send(form.action, fields, card ? card.dataset.dealId : null);
  });

  // --- drag and drop -------------------------------------------------------------------------------------------
  function columnOf(element) {
    return element && element.closest ? element.closest(".board-column") : null;
  }

  function clearTargets() {
    document.querySelectorAll(".board-column.drop-target").forEach((c) => c.classList.remove("drop-target"));
  }

  app.addEventListener("dragstart", (event) => {
    const card = cardOf(event.target);
    if (!card || card.getAttribute("draggable") !== "true") return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.dealId);
  });

  app.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearTargets();
  });

  app.addEventListener("dragover", (event) => {
    const column = columnOf(event.target);
    if (!dragged || !column || column.dataset.stageId === dragged.dataset.stageId) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drop-target")) {
      clearTargets();
      column.classList.add("drop-target");
    }
  });

  app.addEventListener("dragleave", (event) => {
    const column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  app.addEventListener("drop", (event) => {
    const column = columnOf(event.target);
    const card = dragged;
    clearTargets();
    if (!card || !column || column.dataset.stageId === card.dataset.stageId) return;
    event.preventDefault();
    const version = card.dataset.version;
    const kind = column.dataset.stageKind;
    if (kind === "lost") {
      askForReason(card);
    } else if (kind === "won") {
      send(card.dataset.winUrl, { version }, card.dataset.dealId);
    } else {
      send(card.dataset.moveUrl, { version, stage_id: column.dataset.stageId }, card.dataset.dealId);
    }
  });

  // --- the lost-reason dialog ----------------------------------------------------------------------------------
  if (!dialog) return;
  const form = document.getElementById("lost-form");
  const reason = document.getElementById("lost-reason");
  const error = document.getElementById("lost-error");
  const field = document.getElementById("lost-field");

  function showError(shown) {
    error.hidden = !shown;
    field.classList.toggle("has-error", shown);
    if (shown) {
      reason.setAttribute("aria-invalid", "true");
      reason.setAttribute("aria-describedby", "lost-error");
    } else {
      reason.removeAttribute("aria-invalid");
      reason.removeAttribute("aria-describedby");
    }
  }

  function askForReason(card) {
    pendingLoss = { id: card.dataset.dealId, url: card.dataset.loseUrl, version: card.dataset.version };
    document.getElementById("lost-deal").textContent = card.dataset.title;
    reason.value = "";
    showError(false);
    dialog.showModal();
    reason.focus();
  }

  function cancelLoss() {
    const id = pendingLoss && pendingLoss.id;
    pendingLoss = null;
    if (dialog.open) dialog.close();
    announce(app.dataset.msgCancelled, "info");
    const card = id && document.getElementById("deal-" + id);
    if (card) card.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!pendingLoss) return;
    if (!reason.value.trim()) {
      showError(true);
      reason.focus();
      return;
    }
    const loss = pendingLoss;
    pendingLoss = null;
    dialog.close();
    send(loss.url, { version: loss.version, reason: reason.value }, loss.id);
  });
  document.getElementById("lost-cancel").addEventListener("click", cancelLoss);
  dialog.addEventListener("cancel", (event) => { // Escape
    event.preventDefault();
    cancelLoss();
  });
})();
