import { historySuite } from "./history-suite";

historySuite("PostgreSQL");
