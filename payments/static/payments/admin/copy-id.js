// The changelist's "copy" buttons (payments/core/display.py): copy the whole id. A listener in a
// file, not an onclick attribute: the Content-Security-Policy runs no inline event handler.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy-id");
  if (!button) {
    return;
  }
  // The click must not follow the row's change link around the button.
  event.preventDefault();
  event.stopPropagation();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(button.dataset.copy);
  }
  button.textContent = "copied";
  setTimeout(() => { button.textContent = "copy"; }, 1200);
});
