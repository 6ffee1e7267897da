export { SmtpConnection, SmtpError, type MailMessage, type MailResult } from "./SmtpConnection.js";
export { SmtpSink } from "./SmtpSink.js";
