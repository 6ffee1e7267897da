import { registerWebServiceFactory } from "../core/index.js";
import { WebService } from "./WebService.js";

export { WebService } from "./WebService.js";
export { etagMatches, parseListen } from "./listenEtag.js";
export { DASHBOARD_HTML } from "./dashboard.js";

// Importing the family (or 'bspump') lets BSPumpApplication serve the web API on `[web] listen` / `-w`.
registerWebServiceFactory((app, listen) => new WebService(app, listen));
