/** The shared threshold-protocol core: parties, scalars, Shamir/Feldman, commitments, echo, DKG. */
export * from './codec.ts';
export * from './commitment.ts';
export * from './dkg.ts';
export * from './parties.ts';
export * from './scalars.ts';
export * from './shamir.ts';
export * from './ecdsa.ts';
