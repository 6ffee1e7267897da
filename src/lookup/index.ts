export { AsyncLookup } from "./AsyncLookup.js";
export { DictionaryLookup } from "./DictionaryLookup.js";
export { GeoIPEnricher } from "./GeoIPEnricher.js";
export { IPGeoLookup, type GeoLocation } from "./IPGeoLookup.js";
export { LookupEnricher } from "./LookupEnricher.js";
export { buildMasterURL, FileLookupProvider, HTTPLookupProvider, LookupProvider, type ProviderResult, type ProviderStats } from "./LookupProvider.js";
export { LookupUpdateProcessor, LookupUpdateSink } from "./LookupUpdateProcessor.js";
export { decodeCacheFile, encodeCacheFile, MappingLookup } from "./MappingLookup.js";
export { ipv4ToInt, ipv6ToBigInt, isPrivateIPv4, isPrivateIPv6 } from "./ipaddress.js";
