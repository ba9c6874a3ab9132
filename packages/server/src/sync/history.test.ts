import { historySuite } from "./history-suite";

historySuite("PGlite");
