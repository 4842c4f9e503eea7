// The item page's copy button and share link (templates/_share.html). Without script the
// compact number is plain text to select and the share link a plain link to the page; with it,
// "Copy number" puts the compact number on the clipboard, and the link opens the system's share
// sheet (Web Share API) where there is one, else copies the page's address. Each outcome is
// shown on the button and said in the live region for screen readers.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector(".share-tools");
  if (!box) { return; }
  var status = box.querySelector(".copy-status");
  var button = box.querySelector(".copy-number");
  var link = box.querySelector(".share-link");
  var timer = null;

  function say(text) {
    // Emptied first, so that the same words said twice are announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(function () {
      status.textContent = "";
      if (button) { button.classList.remove("copied"); button.textContent = button.dataset.label; }
    }, 4000);
  }

  function copy(text) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text);
    }
    return Promise.reject(new Error("no clipboard"));
  }

  if (button && navigator.clipboard && navigator.clipboard.writeText) {
    button.dataset.label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(button.dataset.copy).then(function () {
        button.classList.add("copied");
        button.textContent = "✓ " + box.dataset.copied;
        say(box.dataset.copied + ": " + button.dataset.copy);
      }, function () {
        say(box.dataset.copyFailed);
      });
    });
  }

  if (link) {
    link.addEventListener("click", function (event) {
      var url = link.dataset.shareUrl;
      if (navigator.share) {
        event.preventDefault();
        navigator.share({ title: link.dataset.shareTitle, url: url }).catch(function () {
          // Closed by the person, or refused: nothing to say.
        });
      } else if (navigator.clipboard && navigator.clipboard.writeText) {
        event.preventDefault();
        copy(url).then(function () { say(box.dataset.linkCopied); },
                       function () { window.location.href = url; });
      }
    });
  }
});
