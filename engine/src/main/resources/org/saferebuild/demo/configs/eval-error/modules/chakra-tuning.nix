# Chakra tuning for the second chakra, half finished:
# chakraFrequency was never defined here (it lives in the translator's settings).
{ config, pkgs, ... }:
{
  services.field.chakra.tuning = {
    muladhara = {
      frequency = 396;
      harmonics = [ 1 2 3 ];
    };
    svadhisthana = {
      frequency = 417;
      harmonics = [ 1 2 ];
      base = chakraFrequency * 2;
    };
  };
}
