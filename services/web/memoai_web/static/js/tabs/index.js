// The tab modules, by tab id (see memoai_web/tabs.py). Each exports init(ctx),
// called once at start-up, and show(ctx, param, {changed, first}), called
// whenever its tab is shown (changed: it was not shown before; first: the
// page's first view). A later tab (Chat, Debug, Admin) adds itself here.

import * as coach from "./coach.js";
import * as detailed from "./detailed.js";
import * as help from "./help.js";
import * as overall from "./overall.js";
import * as progress from "./progress.js";
import * as write from "./write.js";
// Administration (issue #6)
import * as admin from "./admin/index.js";
import * as debug from "./debug.js";

export const tabModules = { write, overall, detailed, coach, progress, help };

// Integrations issue: bulk upload, API tokens and webhooks.
import * as batches from "./batches.js";
import * as integrations from "./integrations.js";

Object.assign(tabModules, { batches, integrations, debug, admin });

// Coaches and cohorts (issue 16): a writer's assignments, and the coach area.
import * as assignments from "./assignments/index.js";
import * as cohorts from "./cohorts/index.js";

Object.assign(tabModules, { assignments, cohorts });

// The signed-in user's own account: the password change (issue 13, point 6).
import * as account from "./account.js";

Object.assign(tabModules, { account });
