// Consumer groups: state, protocol type and assignor ("none" when empty, as the CLI says), members, lag.
"use strict";
(() => {
  const { $, el, api, guard, num, fill, td } = K;
  const load = guard(async () => {
    const data = await api("/api/groups");
    fill($("#groups tbody"), data.groups, (g) => el("tr", {},
      el("td", {}, el("a", { href: `/groups/${encodeURIComponent(g.group_id)}` }, g.group_id)),
      td(g.state), td(g.protocol_type || "none"), td(g.protocol || "none"), td(num(g.members), "num"), td((g.topics || []).join(", ")), td(num(g.lag), "num")),
      "No consumer groups yet.");
  });
  load();
  setInterval(load, 3000);
})();
