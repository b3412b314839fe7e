// @peculiar/x509 resolves to its CommonJS build under Node, whose DI container (tsyringe) needs the
// Reflect metadata API installed first. Import x509 through this module so the order always holds.
import 'reflect-metadata';

export * from '@peculiar/x509';
