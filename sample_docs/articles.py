"""Texts of the demo corpus: fictional dispatches of the invented "Agence Meridien".

Every name, place, figure and quotation below is invented for this project (CC0).

Body markup, one block per blank-line-separated group of lines:
``## heading`` | ``- bullet`` lines | ``| a | b |`` table rows (first row is the header) |
``===`` alone on a line starts a new page | anything else is a paragraph (lines are joined).
The title and the dateline are added by ``make_samples.py`` from the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One dispatch: metadata plus a body in the small markup described above."""

    slug: str
    lang: str  # "fr" or "en"
    date: datetime
    place: str  # dateline place, upper case
    title: str
    topic: str
    body: str
    scanned: str = ""  # text of a last page rendered as an image only (no text layer)


GREVE_1983 = Article(
    slug="greve-port-aurele",
    lang="fr",
    date=datetime(1983, 5, 12, 9, 30),
    place="PORT-AURÈLE",
    title="Grève des dockers : le port de Port-Aurèle paralysé depuis onze jours",
    topic="grève des dockers",
    body="""
Le port de commerce de Port-Aurèle est entièrement paralysé depuis le 1er mai par une grève
des 2 340 dockers, a constaté jeudi l'Agence Meridien. Quarante-six navires attendent en rade
ou à quai, dont le cargo frigorifique « Belle-Iliane », chargé de 3 800 tonnes d'agrumes.

Le mouvement est conduit par le Syndicat des ouvriers du port (SOP), dont le secrétaire général,
Marcel Daubigné, réclame une hausse des salaires de 9 % et le maintien de la prime de nuit.
« Nous ne reprendrons pas le travail pour une aumône », a-t-il lancé mercredi devant quelque
800 grévistes réunis sur le quai de la Chaîne.

La direction de la Compagnie des bassins de Port-Aurèle propose pour sa part une augmentation
de 4,5 % étalée sur dix-huit mois. Son président, Édouard Vasselin, évalue les pertes à
12 millions de francs par jour pour l'économie de la ville et redoute que les armateurs ne
détournent durablement leurs lignes vers les ports voisins.

Les négociations, rompues mardi soir, doivent reprendre lundi à la préfecture sous l'égide d'un
médiateur, le conseiller d'État François Lemarçon. Le préfet a exclu à ce stade toute
réquisition, tout en rappelant que les cargaisons de denrées périssables devront être
déchargées « quoi qu'il arrive » avant la fin de la semaine.

Sur les quais, les commerçants du quartier de la Criée disent leur inquiétude : le chiffre
d'affaires des cafés et des ship-chandlers aurait baissé de moitié depuis le début du conflit.
Les pêcheurs, dont les chalutiers ne sont pas concernés par le blocage, continuent en revanche
de débarquer leurs prises chaque matin au bassin Sainte-Œuvre.
""",
)

ELECTIONS_1987 = Article(
    slug="elections-haute-varenne",
    lang="fr",
    date=datetime(1987, 3, 16, 7, 45),
    place="SAINT-AMBRE-SUR-VARENNE",
    title="Régionales en Haute-Varenne : la liste d'Hélène Marchais arrive largement en tête",
    topic="élections régionales",
    body="""
La liste de l'Union des vallées conduite par Hélène Marchais est arrivée en tête dimanche des
élections régionales en Haute-Varenne, avec 38,4 % des suffrages exprimés, selon les résultats
définitifs publiés lundi matin par la préfecture de région.

Elle obtient 31 des 71 sièges du conseil régional, devant le Rassemblement pour la Varenne du
président sortant Gérard Tissandier (29,7 %, 24 sièges) et les Écologistes de la Varenne
(9,2 %, 6 sièges). Les dix derniers sièges se partagent entre trois listes divisées de gauche
et une liste régionaliste.

La participation s'est établie à 68,3 %, en nette hausse par rapport au précédent scrutin
(59,1 %). Les bureaux de vote de la vallée de l'Ysère ont enregistré les plus fortes
affluences, dépassant parfois 80 %.

« Les électeurs ont choisi le désenclavement », a déclaré Hélène Marchais, 46 ans, ancienne
institutrice et maire de Valcroze, qui a fait de la réouverture de la ligne ferroviaire
Saint-Ambre–Valcroze la priorité de sa campagne. Gérard Tissandier a reconnu sa défaite mais
n'exclut pas de briguer la présidence de l'assemblée grâce à des alliances.

Faute de majorité absolue, l'élection du président du conseil régional, prévue le 27 mars,
se jouera au troisième tour de scrutin, à la majorité relative, si aucun accord n'est conclu
d'ici là.
""",
)

KESTREL_1994 = Article(
    slug="kestrel-probe-launch",
    lang="en",
    date=datetime(1994, 9, 7, 6, 5),
    place="TARVIK LAUNCH RANGE",
    title="Kestrel probe lifts off on a six-year voyage to asteroid Orenthe",
    topic="space-probe launch",
    body="""
The Kestrel space probe lifted off at 04:17 local time on Wednesday aboard an Aldane-4 rocket,
beginning a six-year journey to the asteroid (4471) Orenthe, the Halden Space Agency said.

The 612-kilogram spacecraft separated from the rocket's upper stage 38 minutes after launch and
unfolded its two solar panels shortly afterwards. Ground controllers in Nordvik reported that all
systems were working normally.

Kestrel will swing past Mars in October 1996, using the planet's gravity to bend its course,
before reaching Orenthe in March 2000 after travelling some 2.1 billion kilometres. It will then
spend eleven months mapping the asteroid, which is about 19 kilometres long.

The probe carries seven instruments, including a laser altimeter, an infrared spectrometer and
a camera built by students at the University of Harrowgate. Mission scientists hope the data
will show whether Orenthe is a single block of rock or a loose pile of rubble.

"Tonight we are sending a very small machine on a very long errand," said the mission's
principal investigator, Dr. Ingrid Solvik, as the rocket cleared the tower. The mission is
budgeted at 410 million dollars, including eight years of operations.
""",
)

BRIDGE_1998 = Article(
    slug="saint-ferreol-bridge",
    lang="en",
    date=datetime(1998, 6, 30, 14, 20),
    place="VALCROZE",
    title="Saint-Ferréol bridge opens to traffic after four years of works",
    topic="bridge opening",
    body="""
The Saint-Ferréol bridge across the Lirenne estuary opened to traffic on Tuesday, cutting the
road journey between Valcroze and the coastal town of Pierrelune from 95 minutes to 20.

The cable-stayed bridge is 1,240 metres long, with a main span of 460 metres between two
concrete pylons 148 metres high. It carries four traffic lanes and a separate cycle path. Works
began in May 1994 and employed up to 1,100 people at their peak.

The structure was designed by the engineer Paulette Ranvier, whose firm also built the Orme
viaduct. It cost 2.3 billion francs, two thirds of which will be repaid by a toll of 15 francs
per car. The operator expects about 18,000 vehicles a day by the end of the year.

Hundreds of residents walked across the deck on Monday evening, the last day it was open to
pedestrians only. The regional council president, Hélène Marchais, called the bridge "the end
of a century of ferries and detours" at the opening ceremony.

Local ferry operators, who carried 1.4 million passengers last year, said they would keep one
crossing a day for tourists during the summer season.
""",
    scanned="""
AGENCE MERIDIEN - TELEX - 30.06.1998 - 15H02
URGENT - ADDITIONAL TO SAINT-FERREOL BRIDGE DISPATCH

VALCROZE - THE PREFECTURE ANNOUNCED THIS AFTERNOON
THAT THE TOLL WILL BE WAIVED FOR RESIDENTS OF THE
LIRENNE DEPARTMENT UNTIL 31 DECEMBER 1998.

THE FIRST VEHICLE TO CROSS THE BRIDGE WAS AN
AMBULANCE FROM VALCROZE HOSPITAL, AT 11.42.

A SECOND OPENING CEREMONY FOR SCHOOLCHILDREN IS
PLANNED ON 4 JULY.

ENDS
""",
)

CANICULE_2003 = Article(
    slug="canicule-lorvennes",
    lang="fr",
    date=datetime(2003, 8, 11, 11, 10),
    place="LORVENNES",
    title="Canicule : Lorvennes bat son record absolu de chaleur",
    topic="canicule",
    body="""
Le thermomètre a atteint 41,7 °C dimanche à 16 h 20 à la station météorologique de l'aérodrome
de Lorvennes-Béthisy, pulvérisant le record absolu de la ville, qui datait de juillet 1947
(39,8 °C), a indiqué lundi le centre départemental de Météo-Varenne.

La préfecture a déclenché le niveau 3 du plan canicule. Quatorze « salles rafraîchies » ont été
ouvertes dans les mairies de quartier et les médiathèques, et des équipes de bénévoles rendent
visite chaque jour à 2 600 personnes âgées isolées recensées par le centre communal d'action
sociale.

À l'hôpital Sainte-Clotilde, le nombre de passages aux urgences a augmenté de 40 % en une
semaine. « Nous voyons arriver des patients très âgés, déshydratés, parfois inconscients »,
témoigne le docteur Bertrand Aumônier, chef du service, qui a rappelé une partie du personnel
en congé.

L'arrosage des jardins et le lavage des voitures sont interdits jusqu'à nouvel ordre. Le débit
de la Lirenne est tombé à 3,1 mètres cubes par seconde, son plus bas niveau depuis trente ans.

La maire, Solange Ricard-Béliveau, a demandé aux employeurs d'aménager les horaires de travail.
Météo-Varenne n'attend pas de baisse des températures avant le vendredi 15 août, date à laquelle
des orages pourraient ramener un peu de fraîcheur.
""",
)

FLOOD_2011 = Article(
    slug="brennach-flood",
    lang="en",
    date=datetime(2011, 4, 19, 8, 0),
    place="ASHWICK",
    title="River Brennach bursts its banks, 4,100 people evacuated in Ashwick",
    topic="flood",
    body="""
The River Brennach peaked at 6.82 metres at the Mill Lane gauge in Ashwick at 03:00 on Tuesday,
its highest level since records began in 1891, after 148 millimetres of rain fell on the
valley in 72 hours.

About 4,100 residents were evacuated overnight from the low-lying Riverside and Tanners Row
districts. Three relief centres were opened, the largest in the sports hall of Ashwick Grammar
School, where volunteers served hot meals until dawn.

The county emergency service said 1,350 homes had been flooded. Two people were lifted from the
roof of a car by a coastguard helicopter near Eldon Ford; no deaths have been reported.
The Old Toll Bridge has been closed until engineers can inspect its foundations.

"The defences built after the 1968 flood held for ten hours, and that gave us the time we
needed," said the mayor, Thomas Brereton. Some 220 soldiers were deployed to fill sandbags and
help with the evacuation.

Insurers gave a first estimate of 38 million pounds in damage. Forecasters expect the water to
fall slowly over the next two days, though more showers are expected on Thursday.
""",
)

VACCINE_2020 = Article(
    slug="calvane-vaccine-trial",
    lang="en",
    date=datetime(2020, 11, 23, 12, 0),
    place="LYSMOUTH",
    title="Calvane vaccine candidate shows 91.3% efficacy in late-stage trial",
    topic="vaccine trial",
    body="""
The vaccine candidate CVB-07 developed by Calvane Biologics was 91.3% effective at preventing
symptomatic infection in a late-stage trial, the Lysmouth-based company said on Monday.

The phase III trial enrolled 28,400 volunteers in six countries, half of whom received two doses
given 21 days apart and half a placebo. Of the 162 symptomatic cases recorded so far, 149
occurred in the placebo group and 13 among vaccinated volunteers.

No serious safety concerns were identified by the independent monitoring board, the company
said. The most common side effects were a sore arm and tiredness lasting one or two days.

Unlike some rival candidates, CVB-07 can be stored for six months in an ordinary refrigerator,
between 2 and 8 degrees Celsius, which would make it easier to distribute in rural clinics.

"These are interim results and they need to be confirmed, but they are better than we dared to
hope," said Dr. Lena Varga, Calvane's chief medical officer. The company plans to file for an
emergency authorisation in December and says it can produce 300 million doses in 2021.

The full data have not yet been published or reviewed by independent scientists.
""",
)

ARCHIVES_2025 = Article(
    slug="numerisation-archives-meridien",
    lang="fr",
    date=datetime(2025, 2, 4, 10, 0),
    place="PORT-AURÈLE",
    title="L'Agence Meridien numérise quarante ans de dépêches",
    topic="numérisation des archives",
    body="""
L'Agence Meridien a lancé mardi « Mémoire vive », un programme de numérisation de l'ensemble de
ses archives de presse, de 1983 à 2024, qui seront rendues consultables en ligne avec un moteur
de recherche capable de répondre à des questions en citant ses sources.

## Un fonds de 1 214 000 dépêches

Le fonds compte 1 214 000 dépêches, dont une grande partie n'existe que sur papier ou sur
microfilm. Le programme est doté d'un budget de 3,4 millions d'euros sur deux ans, financé à
parts égales par l'agence et par la région.

Il est mené en partenariat avec la Bibliothèque municipale de Port-Aurèle, qui accueillera
l'atelier de numérisation dans ses anciens magasins du quai de la Chaîne. Douze personnes y
travailleront à plein temps.

« Ces dépêches sont la mémoire quotidienne de la région : une grève, une élection, une
inondation. Elles doivent redevenir lisibles par tous », a déclaré la directrice des archives,
Claire Ombredanne.

===

## Calendrier et avancement

Les premières décennies, conservées sur papier et sur microfilm, ont été traitées en priorité.
Le tableau ci-dessous présente l'état d'avancement au 31 janvier 2025.

| Période | Dépêches | Numérisées | Avancement |
| 1983 à 1989 | 248 000 | 248 000 | 100 % |
| 1990 à 1999 | 331 000 | 297 900 | 90 % |
| 2000 à 2009 | 362 000 | 181 000 | 50 % |
| 2010 à 2024 | 273 000 | 54 600 | 20 % |

Les dépêches postérieures à 2010, nées sous forme numérique, posent surtout des problèmes de
formats anciens et de métadonnées incomplètes. L'agence prévoit d'achever la numérisation à la
fin de l'année 2026.

===

## Méthode

Chaque dépêche passe par les mêmes étapes :

- numérisation des originaux à 300 dpi ;
- reconnaissance optique des caractères pour les pages dactylographiées et les télex ;
- indexation dans un moteur de recherche hybride, par mots-clés et par le sens ;
- réponses accompagnées de la référence de la dépêche et de la page citée.

## Accès du public

Le portail public ouvrira le 15 septembre 2025. La consultation sera gratuite pour les
chercheurs, les enseignants et les élèves ; les médias pourront souscrire un abonnement.
""",
)

ARTICLES: tuple[Article, ...] = (
    GREVE_1983,
    ELECTIONS_1987,
    KESTREL_1994,
    BRIDGE_1998,
    CANICULE_2003,
    FLOOD_2011,
    VACCINE_2020,
    ARCHIVES_2025,
)
