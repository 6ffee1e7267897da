export { parseAddress, parseAddresses, formatPeer, type SocketAddress } from "./address.js";
export { StreamServerSource, TCPStreamSource, TCPSource, SocketStream, type StreamContext } from "./StreamServerSource.js";
export { StreamClientSink, StreamSink, TCPStreamSink } from "./StreamClientSink.js";
export { DatagramSource, UDPSource, type DatagramContext } from "./DatagramSource.js";
export { DatagramSink } from "./DatagramSink.js";
export { TLS_CONFIG } from "./tls.js";
