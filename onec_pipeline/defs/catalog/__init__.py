"""The catalog: the import assets ``groups → goods → offers → prices, rests``, their per-upload checks and the
nightly catalog-wide audit."""
