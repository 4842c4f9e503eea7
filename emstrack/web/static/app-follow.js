// "Follow on this device" on an item's page (templates/_follow_device.html): shown only where
// the browser can keep My items; adds the number to them (static/app-store.js). The app's
// service worker is registered by My items itself (static/app.js), not here: the site's pages
// go on without one for whoever never opens the app. A plain deferred script, as the site's
// others are, which loads the store's module.
"use strict";
import("/static/app-store.js").then(function (store) {
  const box = document.querySelector(".follow-device");
  if (box && store.available()) { offer(box, store.follow, store.get); }
}, function () { /* no modules: nothing offered */ });

function offer(box, follow, get) {
  const button = box.querySelector(".follow-device-button");
  const status = box.querySelector(".follow-device-status");
  const number = box.dataset.number;
  const following = function () {
    button.hidden = true;
    status.textContent = box.dataset.following;
  };
  get(number).then(function (found) {
    box.hidden = false;
    if (found) { following(); }
  }, function () { /* no storage after all (a private window): nothing offered */ });
  button.addEventListener("click", function () {
    follow(number, null).then(function () {
      button.hidden = true;
      status.textContent = box.dataset.added;
    }, function () { /* storage refused: the button stays */ });
  });
}
