// System.Net has a ProtocolViolationException of its own; the fuzz targets mean Wire's.
global using ProtocolViolationException = Wire.Enforcement.ProtocolViolationException;
