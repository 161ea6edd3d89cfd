// System.Net has a ProtocolViolationException of its own; Wire's parsers mean Wire's.
global using ProtocolViolationException = Wire.Enforcement.ProtocolViolationException;
