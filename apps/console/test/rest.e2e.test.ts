import { restSuite } from "./rest-suite";

restSuite("the embedded default", () => ({}));
