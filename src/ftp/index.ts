export { FTPConnection } from "./FTPConnection.js";
export { FTPSource } from "./FTPSource.js";
