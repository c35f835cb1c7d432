// Source of truth for the project's value sets. `npm run valuesets` turns each entry into a FHIR R4
// ValueSet (compose + expansion) under valuesets/. Every code here is VERIFIED in
// ../shared/reference/terminology.md (section given per entry) or, where noted, verified by us.
// Lists too long to type are read from terminology/sources/ (copies of the reference code lists).

import { readFileSync } from 'node:fs';

/** Code system URIs, shared with src/constants.ts through terminology/content.json. */
export const SYSTEMS = JSON.parse(readFileSync(new URL('./content.json', import.meta.url), 'utf8')).systems;

/** RxNorm products (SCD/SBD) of the VSAC set 2.16.840.1.113762.1.4.1248.364, picked by ingredient name. */
const vsac364 = (...ingredients) => ({ system: 'rxnorm', vsac364: ingredients });

export const VALUE_SETS = [
  {
    id: 'kineret-products',
    title: 'Kineret (anakinra) products',
    description: 'RxNorm concepts for anakinra and Kineret (IN, BN, SCD, SBD, SCDC, SBDC, SCDF, SBDF, SCDG, SBDG) and the Kineret NDC packages, in the 10-digit hyphenated form and the 11-digit form with and without hyphens (the same packages; EHRs send either).',
    source: 'terminology.md 1a, 1b',
    include: [
      { system: 'rxnorm', concepts: [
        ['72435', 'anakinra'], ['352734', 'Kineret'],
        ['727711', '0.67 ML anakinra 149 MG/ML Prefilled Syringe'],
        ['727714', '0.67 ML anakinra 149 MG/ML Prefilled Syringe [Kineret]'],
        ['727710', 'anakinra 149 MG/ML'], ['727712', 'anakinra 149 MG/ML [Kineret]'],
        ['727708', 'anakinra Prefilled Syringe'], ['727713', 'anakinra Prefilled Syringe [Kineret]'],
        ['1157701', 'anakinra Injectable Product'], ['1170741', 'Kineret Injectable Product'],
      ] },
      { system: 'ndc', concepts: [
        ['66658-234-07', 'Kineret 7 syringes in 1 carton, 0.67 mL each'],
        ['66658-234-28', 'Kineret 4 cartons of 7 syringes, 0.67 mL each'],
        ['66658-0234-07', 'Kineret 7 syringes in 1 carton (11-digit form)'],
        ['66658-0234-28', 'Kineret 4 cartons of 7 syringes (11-digit form)'],
        ['66658023407', 'Kineret 7 syringes in 1 carton (11 digits, no hyphens)'],
        ['66658023428', 'Kineret 4 cartons of 7 syringes (11 digits, no hyphens)'],
      ] },
    ],
  },
  {
    id: 'tnf-inhibitors',
    title: 'TNF inhibitors',
    description: 'Ingredients (IN) and VSAC-listed products of adalimumab, etanercept, infliximab, certolizumab pegol and golimumab.',
    source: 'terminology.md 1c; VSAC 2.16.840.1.113762.1.4.1248.364',
    include: [
      { system: 'rxnorm', concepts: [
        ['327361', 'adalimumab'], ['214555', 'etanercept'], ['191831', 'infliximab'],
        ['709271', 'certolizumab pegol'], ['819300', 'golimumab'],
      ] },
      vsac364('adalimumab', 'etanercept', 'infliximab', 'certolizumab', 'golimumab'),
    ],
  },
  {
    id: 'other-biologic-dmards',
    title: 'Biologic DMARDs and biologic response modifiers other than TNF inhibitors and anakinra',
    description: 'Ingredients (IN) of abatacept, rituximab, tocilizumab, sarilumab, canakinumab, rilonacept, secukinumab and ustekinumab, and the VSAC-listed products of abatacept, rituximab, tocilizumab, secukinumab, ustekinumab, ixekizumab (IL-17), vedolizumab and natalizumab (integrin). Biologics of these classes whose RxNorm codes are not verified here (brodalumab, bimekizumab, guselkumab, risankizumab, tildrakizumab, mirikizumab, belimumab, anifrolumab) are matched by ingredient and brand name in KineretMedications.',
    source: 'terminology.md 1c; VSAC 2.16.840.1.113762.1.4.1248.364 (eCQM 2025 expansion, RxNorm 01022024); cql/terminology-verification.md',
    include: [
      { system: 'rxnorm', concepts: [
        ['614391', 'abatacept'], ['121191', 'rituximab'], ['612865', 'tocilizumab'], ['1923319', 'sarilumab'],
        ['853491', 'canakinumab'], ['763450', 'rilonacept'], ['1599788', 'secukinumab'], ['847083', 'ustekinumab'],
      ] },
      vsac364('abatacept', 'rituximab', 'tocilizumab', 'secukinumab', 'ustekinumab', 'ixekizumab', 'vedolizumab', 'natalizumab'),
      // Read in the same VSAC set's expansion at cqframework/ecqm-content-qicore-2025@db5a7e14 (S1), not in the side file.
      { system: 'rxnorm', concepts: [['1745112', '1 ML ixekizumab 80 MG/ML Prefilled Syringe'], ['477484', '15 ML natalizumab 20 MG/ML Injection']] },
    ],
  },
  {
    id: 'jak-inhibitors',
    title: 'Janus kinase inhibitors',
    description: 'Ingredients (IN) of tofacitinib, baricitinib and upadacitinib, the VSAC-listed tofacitinib products, and the VSAC-listed ruxolitinib tablets. Other JAK inhibitors (fedratinib, pacritinib, momelotinib, abrocitinib, ritlecitinib) and the TYK2 inhibitor deucravacitinib are matched by name in KineretMedications.',
    source: 'terminology.md 1c; VSAC 2.16.840.1.113762.1.4.1248.364 and .1248.355 (eCQM 2025 expansions); cql/terminology-verification.md',
    include: [
      { system: 'rxnorm', concepts: [['1357536', 'tofacitinib'], ['2047232', 'baricitinib'], ['2196092', 'upadacitinib']] },
      vsac364('tofacitinib'),
      { system: 'rxnorm', concepts: [
        ['1193331', 'ruxolitinib 10 MG Oral Tablet'], ['1193339', 'ruxolitinib 5 MG Oral Tablet'], ['1193343', 'ruxolitinib 15 MG Oral Tablet'],
        ['1193347', 'ruxolitinib 20 MG Oral Tablet'], ['1193351', 'ruxolitinib 25 MG Oral Tablet'],
      ] },
    ],
  },
  {
    id: 'pde4-inhibitors',
    title: 'Phosphodiesterase 4 inhibitors (apremilast products)',
    description: 'Otezla (apremilast) product RxCUIs. The apremilast ingredient RxCUI is not verified, so products are listed instead.',
    source: 'terminology.md addendum 3 (openFDA NDC 55513-508 rxcui list)',
    include: [
      { system: 'rxnorm', concepts: [
        ['1492746', 'apremilast 30 MG Oral Tablet [Otezla]'], ['1492738', 'apremilast 10 MG Oral Tablet [Otezla]'],
        ['1492748', 'apremilast starter pack [Otezla] (display not verified)'], ['1492732', 'apremilast product [Otezla] (display not verified)'], ['1492740', 'apremilast product [Otezla] (display not verified)'],
        ['1492742', 'apremilast product [Otezla] (display not verified)'], ['1492744', 'apremilast product [Otezla] (display not verified)'], ['1492747', 'apremilast product [Otezla] (display not verified)'],
        ['1605454', 'apremilast product [Otezla] (display not verified)'], ['1605455', 'apremilast product [Otezla] (display not verified)'], ['2682429', 'apremilast product [Otezla] (display not verified)'],
        ['2682430', 'apremilast product [Otezla] (display not verified)'], ['2682431', 'apremilast product [Otezla] (display not verified)'], ['2682432', 'apremilast product [Otezla] (display not verified)'],
        ['2723448', 'apremilast product [Otezla] (display not verified)'],
      ] },
    ],
  },
  {
    id: 'methotrexate',
    title: 'Methotrexate',
    description: 'Methotrexate ingredient.',
    source: 'terminology.md 1c',
    include: [{ system: 'rxnorm', concepts: [['6851', 'methotrexate']] }],
  },
  {
    id: 'conventional-dmards-other',
    title: 'Conventional synthetic DMARDs other than methotrexate',
    description: 'Hydroxychloroquine, sulfasalazine and leflunomide (ingredients and VSAC-listed leflunomide products).',
    source: 'terminology.md 1c; VSAC 2.16.840.1.113762.1.4.1248.364',
    include: [
      { system: 'rxnorm', concepts: [['5521', 'hydroxychloroquine'], ['9524', 'sulfasalazine'], ['27169', 'leflunomide']] },
      vsac364('leflunomide'),
    ],
  },
  {
    id: 'nsaids',
    title: 'NSAIDs',
    description: 'NSAID ingredients used as the systemic JIA first-line trial.',
    source: 'terminology.md 1c',
    include: [{ system: 'rxnorm', concepts: [['5640', 'ibuprofen'], ['7258', 'naproxen'], ['5781', 'indomethacin'], ['41493', 'meloxicam']] }],
  },
  {
    id: 'glucocorticoids',
    title: 'Systemic glucocorticoids',
    description: 'Glucocorticoid ingredients and VSAC-listed prednisone and prednisolone products.',
    source: 'terminology.md 1c; VSAC 2.16.840.1.113762.1.4.1248.364',
    include: [
      { system: 'rxnorm', concepts: [['8640', 'prednisone'], ['8638', 'prednisolone'], ['6902', 'methylprednisolone'], ['3264', 'dexamethasone']] },
      vsac364('prednisone', 'prednisolone'),
    ],
  },
  {
    id: 'rheumatoid-arthritis',
    title: 'Rheumatoid arthritis',
    description: 'NCQA "Rheumatoid Arthritis" (2.16.840.1.113883.3.464.1003.113.12.1005) ICD-10-CM and SNOMED CT codes, without M06.1 (adult-onset Still\'s disease, not RA). M05.A is an add-on code that must accompany an RA code, so it is not listed.',
    source: 'terminology.md 2a, 3; code-lists icd10cm_RA_NCQA, snomed_RA_NCQA',
    include: [
      { system: 'icd10cm', tsv: 'icd10cm_RA_NCQA_2.16.840.1.113883.3.464.1003.113.12.1005.tsv', exclude: ['M06.1'] },
      { system: 'snomed', tsv: 'snomed_RA_NCQA_2.16.840.1.113883.3.464.1003.113.12.1005.tsv' },
    ],
  },
  {
    id: 'caps',
    title: 'Cryopyrin-associated periodic syndromes (FCAS, MWS, NOMID/CINCA)',
    description: 'ICD-10-CM M04.2, whose inclusion terms name FCAS, Muckle-Wells syndrome and NOMID/CINCA.',
    source: 'terminology.md 2b, addendum 5',
    include: [{ system: 'icd10cm', concepts: [['M04.2', 'Cryopyrin-associated periodic syndromes']] }],
  },
  {
    id: 'other-autoinflammatory',
    title: 'Other autoinflammatory syndromes (DIRA candidate)',
    description: 'ICD-10-CM M04.8. ICD-10-CM has no DIRA code; M04.8 suggests DIRA but does not establish it, so the CQL asks for confirmation.',
    source: 'terminology.md 2b, addendum 5',
    include: [{ system: 'icd10cm', concepts: [['M04.8', 'Other autoinflammatory syndromes']] }],
  },
  {
    id: 'systemic-jia',
    title: 'Systemic juvenile idiopathic arthritis',
    description: 'ICD-10-CM M08.2- (juvenile rheumatoid arthritis with systemic onset) and SNOMED CT 201796004.',
    source: 'terminology.md 2c, 3; code-list icd10cm_M08_JIA (policy_group SJIA)',
    include: [
      { system: 'icd10cm', tsv: 'icd10cm_M08_JIA.tsv', group: 'SJIA' },
      { system: 'snomed', concepts: [['201796004', 'Systemic onset juvenile chronic arthritis (disorder)']] },
    ],
  },
  {
    id: 'polyarticular-jia',
    title: 'Polyarticular juvenile idiopathic arthritis',
    description: 'ICD-10-CM M08.3 (seronegative polyarthritis), M08.0- (where RF-positive polyarticular JIA is coded: ICD-10-CM has no RF-positive polyarticular code; decision of issue 11, cql/README.md Interpretations) and SNOMED CT 1961000.',
    source: 'terminology.md 2c; addendum 4; code-list icd10cm_M08_JIA (M08.0-)',
    include: [
      { system: 'icd10cm', concepts: [['M08.3', 'Juvenile rheumatoid polyarthritis (seronegative)']] },
      { system: 'icd10cm', tsv: 'icd10cm_M08_JIA.tsv', prefixes: ['M08.0'] },
      { system: 'snomed', concepts: [['1961000', 'Chronic polyarticular juvenile rheumatoid arthritis']] },
    ],
  },
  {
    id: 'jia-unspecified',
    title: 'Juvenile idiopathic arthritis, subtype not specified',
    description: 'JIA codes that do not say systemic or polyarticular: ICD-10-CM M08.9-, SNOMED CT 410502007. The subtype must be stated by the prescriber.',
    source: 'terminology.md 2c, 3',
    include: [
      { system: 'icd10cm', tsv: 'icd10cm_M08_JIA.tsv', prefixes: ['M08.9'] },
      { system: 'snomed', concepts: [['410502007', 'Juvenile idiopathic arthritis (disorder)']] },
    ],
  },
  {
    id: 'mis-c',
    title: 'Multisystem inflammatory syndrome in children',
    description: 'ICD-10-CM M35.81 and SNOMED CT 895448002.',
    source: 'terminology.md 2d, 3',
    include: [
      { system: 'icd10cm', concepts: [['M35.81', 'Multisystem inflammatory syndrome']] },
      { system: 'snomed', concepts: [['895448002', 'Multisystem inflammatory syndrome in children (disorder)']] },
    ],
  },
  {
    id: 'active-tuberculosis',
    title: 'Active tuberculosis',
    description: 'ICD-10-CM A15, A17, A18, A19 (VSAC 2.16.840.1.113762.1.4.1248.349 plus A17.1 and A17.81-A17.83) and SNOMED CT tuberculosis concepts.',
    source: 'terminology.md 2e, 3, addendum 4; VSAC 2.16.840.1.113762.1.4.1248.349 (eCQM 2025 expansion)',
    include: [
      { system: 'icd10cm', concepts: [
        ['A15.0', 'Tuberculosis of lung'], ['A15.4', 'Tuberculosis of intrathoracic lymph nodes'],
        ['A15.5', 'Tuberculosis of larynx, trachea and bronchus'], ['A15.6', 'Tuberculous pleurisy'],
        ['A15.7', 'Primary respiratory tuberculosis'], ['A15.8', 'Other respiratory tuberculosis'],
        ['A15.9', 'Respiratory tuberculosis unspecified'], ['A17.0', 'Tuberculous meningitis'],
        ['A17.1', 'Meningeal tuberculoma'], ['A17.81', 'Tuberculoma of brain and spinal cord'],
        ['A17.82', 'Tuberculous meningoencephalitis'], ['A17.83', 'Tuberculous neuritis'],
        ['A17.89', 'Other tuberculosis of nervous system'], ['A17.9', 'Tuberculosis of nervous system, unspecified'],
        ['A18.01', 'Tuberculosis of spine'], ['A18.02', 'Tuberculous arthritis of other joints'],
        ['A18.03', 'Tuberculosis of other bones'], ['A18.09', 'Other musculoskeletal tuberculosis'],
        ['A18.10', 'Tuberculosis of genitourinary system, unspecified'], ['A18.11', 'Tuberculosis of kidney and ureter'],
        ['A18.12', 'Tuberculosis of bladder'], ['A18.13', 'Tuberculosis of other urinary organs'],
        ['A18.14', 'Tuberculosis of prostate'], ['A18.15', 'Tuberculosis of other male genital organs'],
        ['A18.16', 'Tuberculosis of cervix'], ['A18.18', 'Tuberculosis of other female genital organs'],
        ['A18.2', 'Tuberculous peripheral lymphadenopathy'], ['A18.31', 'Tuberculous peritonitis'],
        ['A18.32', 'Tuberculous enteritis'], ['A18.39', 'Retroperitoneal tuberculosis'],
        ['A18.4', 'Tuberculosis of skin and subcutaneous tissue'], ['A18.50', 'Tuberculosis of eye, unspecified'],
        ['A18.51', 'Tuberculous episcleritis'], ['A18.52', 'Tuberculous keratitis'],
        ['A18.53', 'Tuberculous chorioretinitis'], ['A18.54', 'Tuberculous iridocyclitis'],
        ['A18.59', 'Other tuberculosis of eye'], ['A18.6', 'Tuberculosis of (inner) (middle) ear'],
        ['A18.7', 'Tuberculosis of adrenal glands'], ['A18.81', 'Tuberculosis of thyroid gland'],
        ['A18.82', 'Tuberculosis of other endocrine glands'],
        ['A18.83', 'Tuberculosis of digestive tract organs, not elsewhere classified'],
        ['A18.84', 'Tuberculosis of heart'], ['A18.85', 'Tuberculosis of spleen'],
        ['A18.89', 'Tuberculosis of other sites'], ['A19.0', 'Acute miliary tuberculosis of a single specified site'],
        ['A19.1', 'Acute miliary tuberculosis of multiple sites'], ['A19.2', 'Acute miliary tuberculosis, unspecified'],
        ['A19.8', 'Other miliary tuberculosis'], ['A19.9', 'Miliary tuberculosis, unspecified'],
      ] },
      { system: 'snomed', concepts: [
        ['56717001', 'Tuberculosis (disorder)'], ['154283005', 'Pulmonary tuberculosis (disorder)'],
        ['427099000', 'Active tuberculosis (disorder)'],
      ] },
    ],
  },
  {
    id: 'latent-tuberculosis',
    title: 'Latent tuberculosis infection',
    description: 'Latent TB and positive TB screening without active disease (ICD-10-CM Z22.7, R76.11, R76.12).',
    source: 'terminology.md 2e, addendum 5',
    include: [{ system: 'icd10cm', concepts: [
      ['Z22.7', 'Latent tuberculosis'],
      ['R76.11', 'Nonspecific reaction to tuberculin skin test without active tuberculosis'],
      ['R76.12', 'Nonspecific reaction to cell mediated immunity measurement of gamma interferon antigen response without active tuberculosis'],
    ] }],
  },
  {
    id: 'latent-tuberculosis-treated',
    title: 'Latent tuberculosis infection, treated (history)',
    description: 'ICD-10-CM Z86.15, personal history of latent tuberculosis infection.',
    source: 'terminology.md 2e',
    include: [{ system: 'icd10cm', concepts: [['Z86.15', 'Personal history of latent tuberculosis infection']] }],
  },
  {
    id: 'igra-tests',
    title: 'Interferon-gamma release assay, qualitative result',
    description: 'LOINC 71773-6 (answers LA6576-8 Positive, LA6577-6 Negative, LA11884-6 Indeterminate).',
    source: 'terminology.md 4, addendum 2',
    include: [{ system: 'loinc', concepts: [['71773-6', 'Mycobacterium tuberculosis stimulated gamma interferon [Interpretation] in Blood Qualitative']] }],
  },
  {
    id: 'hepatitis-b',
    title: 'Hepatitis B infection',
    description: 'Acute, chronic and unspecified hepatitis B, carrier state and reactivation (ICD-10-CM and SNOMED CT). The carrier state is SNOMED CT 235871004 and, on older problem lists, ICD-10-CM Z22.51.',
    source: 'terminology.md 2e, 3 (VSAC 2.16.840.1.113883.3.464.1003.110.12.1025); Z22.51: cql/terminology-verification.md',
    include: [
      { system: 'icd10cm', concepts: [
        ['B16.0', 'Acute hepatitis B with delta-agent with hepatic coma'],
        ['B16.1', 'Acute hepatitis B with delta-agent without hepatic coma'],
        ['B16.2', 'Acute hepatitis B without delta-agent with hepatic coma'],
        ['B16.9', 'Acute hepatitis B without delta-agent and without hepatic coma'],
        ['B17.0', 'Acute delta-(super) infection of hepatitis B carrier'],
        ['B18.0', 'Chronic viral hepatitis B with delta-agent'], ['B18.1', 'Chronic viral hepatitis B without delta-agent'],
        ['B19.10', 'Unspecified viral hepatitis B without hepatic coma'], ['B19.11', 'Unspecified viral hepatitis B with hepatic coma'],
        ['Z22.51', 'Carrier of viral hepatitis B (legacy code, not in FY2026: still found on problem lists)'],
      ] },
      { system: 'snomed', concepts: [
        ['66071002', 'Viral hepatitis type B (disorder)'], ['61977001', 'Chronic type B viral hepatitis (disorder)'],
        ['76795007', 'Acute type B viral hepatitis (disorder)'], ['235871004', 'Hepatitis B carrier (finding)'],
        ['165806002', 'Hepatitis B surface antigen detected (finding)'],
        ['446698005', 'Reactivation of hepatitis B viral hepatitis (disorder)'],
      ] },
    ],
  },
  {
    id: 'hbsag-tests',
    title: 'Hepatitis B surface antigen tests',
    description: 'HBsAg presence tests (LOINC).',
    source: 'terminology.md 4',
    include: [{ system: 'loinc', concepts: [
      ['5196-1', 'Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay'],
      ['5195-3', 'Hepatitis B virus surface Ag [Presence] in Serum'],
    ] }],
  },
  {
    id: 'crp-tests',
    title: 'C-reactive protein, mass concentration',
    description: 'CRP in serum or plasma, standard and high-sensitivity (LOINC, mass/volume).',
    source: 'terminology.md 4',
    include: [{ system: 'loinc', concepts: [
      ['1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma'],
      ['30522-7', 'C reactive protein [Mass/volume] in Serum or Plasma by High sensitivity method'],
    ] }],
  },
  {
    id: 'body-weight',
    title: 'Body weight',
    description: 'Body weight observations (LOINC).',
    source: 'terminology.md 4 (VSAC 2.16.840.1.113762.1.4.1045.159)',
    include: [{ system: 'loinc', concepts: [['29463-7', 'Body weight'], ['3141-9', 'Body weight Measured']] }],
  },
  {
    id: 'ra-disease-activity-scores',
    title: 'RA disease activity scores',
    description: 'CDAI and SDAI total scores (LOINC).',
    source: 'terminology.md addendum 6',
    include: [{ system: 'loinc', concepts: [['75847-4', 'Total score [CDAI]'], ['75845-8', 'Total score [SDAI]']] }],
  },
  {
    id: 'qualifying-prescriber-specialties',
    title: 'Qualifying prescriber specialties',
    description: 'NUCC taxonomy codes for rheumatology, medical genetics (M.D.) and dermatology. Ph.D. medical genetics (207SG0205X) is not board certification as a physician and is left out.',
    source: 'terminology.md 5',
    include: [{ system: 'nucc', concepts: [
      ['207RR0500X', 'Internal Medicine / Rheumatology'], ['2080P0216X', 'Pediatrics / Pediatric Rheumatology'],
      ['207SG0201X', 'Medical Genetics / Clinical Genetics (M.D.)'], ['207SG0202X', 'Medical Genetics / Clinical Biochemical Genetics'],
      ['207SC0300X', 'Medical Genetics / Clinical Cytogenetics'], ['207SG0203X', 'Medical Genetics / Clinical Molecular Genetics'],
      ['207SG0207X', 'Medical Genetics / Medical Biochemical Genetics'], ['207SM0001X', 'Medical Genetics / Molecular Genetic Pathology'],
      ['207N00000X', 'Dermatology'], ['207NI0002X', 'Dermatology / Clinical & Laboratory Dermatological Immunology'],
      ['207ND0900X', 'Dermatology / Dermatopathology'], ['207ND0101X', 'Dermatology / MOHS-Micrographic Surgery'],
      ['207NP0225X', 'Dermatology / Pediatric Dermatology'], ['207NS0135X', 'Dermatology / Procedural Dermatology'],
    ] }],
  },
  {
    id: 'genetic-results',
    title: 'Genetic results for NLRP3 (CIAS1) and IL1RN',
    description: 'Observation codes of a genetic variant assessment (LOINC 69548-6) and of its clinical significance (LOINC 53037-8), and the HGNC gene ids of NLRP3 and IL1RN for results coded by gene. Both HGNC system URIs seen in published examples are listed.',
    source: 'terminology.md 4, 7 and addendum 7',
    include: [
      { system: 'loinc', concepts: [['69548-6', 'Genetic variant assessment'], ['53037-8', 'Genetic variation clinical significance [Imp]']] },
      { system: 'hgnc', concepts: [['HGNC:16400', 'NLRP3'], ['HGNC:6000', 'IL1RN']] },
      { system: 'hgncLegacy', concepts: [['HGNC:16400', 'NLRP3'], ['HGNC:6000', 'IL1RN']] },
    ],
  },
  {
    id: 'covid-19',
    title: 'COVID-19 and SARS-CoV-2 infection (current, past or post-COVID condition)',
    description: 'Evidence that MIS-C is associated with SARS-CoV-2: ICD-10-CM U07.1 (COVID-19), U09.9 (post COVID-19 condition), Z86.16 (personal history of COVID-19), SNOMED CT 840539006 (COVID-19).',
    source: 'terminology.md 2d, 3 (U07.1 and U09.9 exist in FY2026; displays from the CDC code lists)',
    include: [
      { system: 'icd10cm', concepts: [['U07.1', 'COVID-19'], ['U09.9', 'Post COVID-19 condition, unspecified'], ['Z86.16', 'Personal history of COVID-19']] },
      { system: 'snomed', concepts: [['840539006', 'Disease caused by SARS-CoV-2']] },
    ],
  },
  {
    id: 'latent-tuberculosis-treatment',
    title: 'Latent tuberculosis treatment drugs',
    description: 'Isoniazid (ingredient). Rifampin, rifapentine and rifabutin, the other drugs of the CDC latent TB regimens, are matched by ingredient name in KineretAllIndications (their RxNorm codes are not verified here).',
    source: 'terminology.md 1c style; isoniazid 6038 from CPIC drug.sql (S4); cql/terminology-verification.md',
    include: [{ system: 'rxnorm', concepts: [['6038', 'isoniazid']] }],
  },
  {
    id: 'subcutaneous-route',
    title: 'Subcutaneous route',
    description: 'SNOMED CT 34206005. Verified by us: the same code and display appear in several independent public FHIR resources and code tables (search of public code, 2026-11-28).',
    source: 'project verification (see description)',
    include: [{ system: 'snomed', concepts: [['34206005', 'Subcutaneous route']] }],
  },
];
