# The few functions of nixpkgs' lib that the demo's modules use.
rec {
  inherit (builtins) attrNames attrValues concatMap concatStringsSep elem filter foldl' hasAttr
    isAttrs isFunction isList isString length listToAttrs map mapAttrs replaceStrings toString;

  concatStrings = concatStringsSep "";
  concatMapStrings = f: xs: concatStrings (map f xs);
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalString = cond: s: if cond then s else "";
  optionalAttrs = cond: attrs: if cond then attrs else { };
  mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (attrNames attrs);
  genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  isDerivation = x: isAttrs x && (x.type or null) == "derivation";

  # How the module system combines definitions, simplified: attribute sets merge recursively,
  # lists concatenate, anything else: the later definition wins. Lazy per attribute, so a
  # module may read config to decide what it defines.
  recursiveMerge = a: b:
    if isAttrs a && isAttrs b && !(isDerivation a) && !(isDerivation b) then
      listToAttrs (map
        (n: {
          name = n;
          value =
            if hasAttr n a && hasAttr n b then recursiveMerge a.${n} b.${n}
            else if hasAttr n a then a.${n}
            else b.${n};
        })
        (unique (attrNames a ++ attrNames b)))
    else if isList a && isList b then a ++ b
    else b;
}
