export { SSHConnection, SSHError, type SFTPWriteResult } from "./SSHConnection.js";
export { SFTPSink } from "./SFTPSink.js";
